/* Featurisation for M3H: tabular fields and clinical notes of record metadata into f32 vectors.
 *
 * Fitted on a training stream only (standardisation, category levels, the text IDF), then
 * applied to any stream, so nothing of a test part leaks into the features.
 *
 * Tabular (tensor "tabular" f32 [D]): the fields named, in that order.
 *   numeric field (every present training value a number):  2 columns
 *     z = (x - mean) / std with the TRAINING mean and population std (ddof 0, as sklearn's
 *     StandardScaler; a std of 0 becomes 1); a missing value (absent, null, NaN) is imputed with
 *     the training mean, so z = 0; then the missing indicator (1 missing, 0 present).
 *   categorical field (any present training value a string):  L + 1 columns
 *     one-hot over the L training levels (sorted bytewise; a value is its text), then the
 *     missing indicator; a level not seen in training is all zeros and not missing (sklearn's
 *     handle_unknown='ignore').
 * Text (tensor "text" f32 [H]): a stand-in for ClinicalBERT, which cannot run here.
 *   tokens: maximal runs of ASCII letters and digits, letters lower-cased; every other byte
 *   (punctuation, spaces, non-ASCII) separates. Terms: the tokens and the bigrams of adjacent
 *   tokens ("dry cough"). Hashing (default): a term counts in column FNV-1a-64(term) mod H.
 *   Vocabulary mode (H = 0 at fit): one column per term seen in training, sorted bytewise; terms
 *   not in it are dropped. Then tf = 1 + ln(count) (sublinear), idf = ln((1 + n) / (1 + df)) + 1
 *   with n training notes and df the notes holding the column (sklearn's smooth_idf), and the
 *   vector is L2-normalised. A missing note is all zeros.
 * This equals sklearn's TfidfVectorizer(lowercase=True, token_pattern=r"[a-z0-9]+",
 * ngram_range=(1, 2), sublinear_tf=True, smooth_idf=True, norm='l2') in vocabulary mode, and
 * TfidfTransformer of the hashed counts otherwise. */
#ifndef CX_FEATURES_FEATURES_H
#define CX_FEATURES_FEATURES_H

#include <stdint.h>

#include "core/value.h"
#include "io/stream.h"

#define CX_FEATURES_KIND "features"
#define CX_FEATURES_MAX_FIELDS 256

typedef struct cx_features cx_features;

/* A featuriser to fit: tabular a comma list of metadata fields (or NULL), text_field a field
 * holding notes (or NULL), text_dim H (> 0: hashing into H columns; 0: vocabulary mode). NULL
 * and EX_USAGE recorded when neither is given, a field repeats, or text_dim < 0. */
cx_features *cx_features_new(const char *tabular, const char *text_field, int text_dim);
void cx_features_free(cx_features *f);

/* Fitting: add every training record, then finish. add fails (EX_DATAERR, naming the field)
 * on a note that is not a string; finish fails when a tabular field never has a value. */
int cx_features_fit_add(cx_features *f, const cx_record *rec);
int cx_features_fit_finish(cx_features *f);

/* The parameters as a stream (kind "features", cxr-features(5)): record "tabular" and/or
 * record "text". input_header, when not NULL, goes into the header's provenance. */
int cx_features_save(const cx_features *f, const char *path, const cx_value *input_header);
/* NULL and the error recorded (naming the file) when the stream is not a valid parameter set. */
cx_features *cx_features_load(const char *path);
const cx_value *cx_features_header(const cx_features *f);   /* of a loaded set; NULL otherwise */

/* Widths of the two tensors (0: not made). */
int64_t cx_features_tabular_width(const cx_features *f);
int64_t cx_features_text_width(const cx_features *f);
/* Column names of the tabular vector: "age", "age_missing", "sex=F", ... */
const char *cx_features_tabular_column(const cx_features *f, int64_t i);

/* Add (or replace) tensors "tabular" and "text" of a fitted set. EX_DATAERR (naming the
 * field) for a number field holding a non-number, or a note that is not a string. */
int cx_features_apply(const cx_features *f, cx_record *rec);

/* The text vector of one note (NULL: missing) into out[text width]. */
void cx_features_text(const cx_features *f, const char *note, float *out);
/* The text's terms in order (tokens and bigrams), each passed to fn; for tests and docs. */
void cx_text_terms(const char *note, void (*fn)(const char *term, void *ctx), void *ctx);
uint64_t cx_fnv1a64(const char *s);

#endif

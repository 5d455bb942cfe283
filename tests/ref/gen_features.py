"""Reference features for lib/features (cxr-features): numpy for the tabular standardisation and
imputation, scikit-learn for TF-IDF.

Run from the repository root:  /usr/bin/python3 tests/ref/gen_features.py
It writes tests/data/ref/features.cxs: one record per sample, meta = its fields (age, sex, spo2,
crp, note) and split = "train" or "test"; tensors
  tabular     the expected f32 [D] for fields age,sex,spo2,crp fitted on the train records:
              numeric z = (x - mean) / std (training mean, population std), missing -> 0, then a
              missing indicator; sex one-hot over the training levels (F, M), then its indicator
  text_vocab  TfidfVectorizer(token_pattern=r"[a-z0-9]+", ngram_range=(1, 2), sublinear_tf=True,
              smooth_idf=True, norm="l2") fitted on the train notes; a missing note is zeros
  text_hash   the same terms hashed with FNV-1a-64 mod 16 (collisions on purpose), counted, then
              TfidfTransformer(sublinear_tf=True, smooth_idf=True, norm="l2") fitted on train
The header holds the vocabulary (sklearn's get_feature_names_out) under "vocabulary".
Deterministic: rerunning reproduces the file byte for byte.
"""
import os
import re
import sys

import numpy as np
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402

OUT = "tests/data/ref/features.cxs"
HASH_DIM = 16
NUMERIC = ["age", "spo2", "crp"]

TRAIN = [
    {"age": 76, "sex": "M", "spo2": 96, "crp": 4.4,
     "note": "76-year-old man admitted with dry cough, difficulty breathing and myalgia for 3 days."},
    {"age": 64, "sex": "F", "spo2": 91, "crp": None,
     "note": "Repeat chest X-ray, day 5. Progression of opacities; requires low-flow oxygen."},
    {"age": 89, "sex": "M", "crp": 15.8,
     "note": "89-year-old man admitted with productive cough, fatigue and anosmia for 5 days."},
    {"sex": "F", "spo2": 97, "crp": 120.5,
     "note": "Follow-up film, day 7. No significant change since the previous film. Lymphopenia."},
    {"age": 51, "sex": None, "spo2": 88, "crp": 61.0, "note": None},
    {"age": 45.5, "sex": "F", "spo2": 93, "crp": 33.3,
     "note": "CRP 33 mg/L, LYMPHOCYTES 0.8 x10^9/L -- bilateral ground-glass opacities (CXR)."},
]
TEST = [
    {"age": 70, "sex": "X", "spo2": 99, "crp": 2.0,
     "note": "Dry cough and fever; bilateral opacities. Unseen words: zebra quokka."},
    {"sex": "M", "note": "day 12: intubated. SpO2 85% on high-flow oxygen"},
    {"age": 30, "spo2": 95, "crp": None, "note": None},
]


def tabular(rec, stats):
    out = []
    for name in ["age", "sex", "spo2", "crp"]:
        x = rec.get(name)
        if name == "sex":
            out += [1.0 if x == level else 0.0 for level in ("F", "M")]
        else:
            mean, std = stats[name]
            out.append(0.0 if x is None else (x - mean) / std)
        out.append(1.0 if x is None else 0.0)
    return np.array(out, dtype=np.float64)


def terms(note):
    tokens = re.findall(r"[a-z0-9]+", note.lower())
    return tokens + [a + " " + b for a, b in zip(tokens, tokens[1:])]


def fnv1a64(s):
    h = 14695981039346656037
    for byte in s.encode():
        h = ((h ^ byte) * 1099511628211) % (1 << 64)
    return h


def hashed_counts(notes):
    counts = np.zeros((len(notes), HASH_DIM))
    for i, note in enumerate(notes):
        for term in terms(note or ""):
            counts[i, fnv1a64(term) % HASH_DIM] += 1
    return counts


def main():
    stats = {}
    for name in NUMERIC:
        values = np.array([r[name] for r in TRAIN if r.get(name) is not None], dtype=np.float64)
        stats[name] = (values.mean(), values.std(ddof=0))
    train_notes = [r["note"] for r in TRAIN if r.get("note")]
    vec = TfidfVectorizer(lowercase=True, token_pattern=r"[a-z0-9]+", ngram_range=(1, 2), sublinear_tf=True,
                          smooth_idf=True, norm="l2")
    vec.fit(train_notes)
    hashing = TfidfTransformer(sublinear_tf=True, smooth_idf=True, norm="l2")
    hashing.fit(hashed_counts(train_notes))
    vocabulary = [str(t) for t in vec.get_feature_names_out()]

    f = open(OUT + ".tmp", "wb")
    w = Writer(f, header("reference", tool="gen_features.py", argv=["tests/ref/gen_features.py"],
                         vocabulary=vocabulary))
    for split, records in (("train", TRAIN), ("test", TEST)):
        for i, rec in enumerate(records):
            note = rec.get("note")
            if note:
                text_vocab = vec.transform([note]).toarray()[0]
                text_hash = hashing.transform(hashed_counts([note])).toarray()[0]
            else:
                text_vocab, text_hash = np.zeros(len(vocabulary)), np.zeros(HASH_DIM)
            meta = {k: v for k, v in rec.items() if v is not None or k == "crp"}   # crp null, others absent
            meta["split"] = split
            w.put("%s-%d" % (split, i), meta, {
                "tabular": tabular(rec, stats).astype(np.float32),
                "text_vocab": text_vocab.astype(np.float32),
                "text_hash": text_hash.astype(np.float32)})
    w.close()
    f.close()
    os.replace(OUT + ".tmp", OUT)


if __name__ == "__main__":
    main()

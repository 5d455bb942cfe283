/* 2-D batch normalisation over float32 NCHW, as PyTorch's BatchNorm2d.
 *
 * Training: each channel is normalised with its batch mean and biased variance; the running
 * statistics move by `momentum` towards the batch mean and the UNBIASED batch variance.
 * Eval: the running statistics normalise. weight and bias (the affine map) may be NULL for
 * 1 and 0. Training forward saves [mean | 1/sqrt(var + eps)] (2 * channels floats) in
 * `saved` for its backward. Backward ADDS into dx, dweight, dbias; any may be NULL. */
#ifndef CX_NN_BATCHNORM_H
#define CX_NN_BATCHNORM_H

typedef struct {
    int batch, channels, height, width;
    double eps;        /* 1e-5 in torchvision, 1e-3 in GoogLeNet and the EfficientNets */
    double momentum;   /* 0.1 in PyTorch */
} cx_batchnorm2d_desc;

/* 0, or EX_DATAERR (recorded) for a size < 1, eps <= 0 or momentum outside [0, 1]. */
int cx_batchnorm2d_setup(const cx_batchnorm2d_desc *d);

/* y and x [batch, channels, height, width]; weight, bias, running_mean, running_var,
 * [channels]; saved [2 * channels]. Returns 0, or EX_DATAERR (recorded, nothing written)
 * when a channel has a single value (batch * height * width == 1), which has no variance. */
int cx_batchnorm2d_forward_train(const cx_batchnorm2d_desc *d, float *y, float *saved, float *running_mean,
                                 float *running_var, const float *x, const float *weight, const float *bias);
void cx_batchnorm2d_backward_train(const cx_batchnorm2d_desc *d, float *dx, float *dweight, float *dbias,
                                   const float *dy, const float *x, const float *weight, const float *saved);

void cx_batchnorm2d_forward_eval(const cx_batchnorm2d_desc *d, float *y, const float *x, const float *weight,
                                 const float *bias, const float *running_mean, const float *running_var);
/* With the statistics fixed, the layer is a per-channel affine map. */
void cx_batchnorm2d_backward_eval(const cx_batchnorm2d_desc *d, float *dx, float *dweight, float *dbias,
                                  const float *dy, const float *x, const float *weight, const float *running_mean,
                                  const float *running_var);

#endif

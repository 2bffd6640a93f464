/*
 * pdt.h — the public C API of the pydtrain core.
 *
 * Kernels work on flat, C-contiguous arrays. Each kernel is written once
 * (csrc/kernels/<area>.c) against the vector API of csrc/simd/, and expanded
 * for float and double and for every SIMD target (csrc/targets/). The list in
 * kernels.def is the single source the dispatch table follows.
 *
 * Conventions: sizes are pdt_int; every kernel returns a pdt_status; backward
 * kernels accumulate (+=) into parameter gradients; hyper-parameters travel in
 * structs; the core never prints, aborts or exits.
 */
#ifndef PDT_H
#define PDT_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t pdt_int;

typedef enum {
    PDT_OK = 0,
    PDT_ENOMEM = 1,     /* an allocation failed */
    PDT_EINVAL = 2,     /* an argument the binding should have rejected */
    PDT_ENONFINITE = 3  /* a NaN or Inf where a finite number is required */
} pdt_status;

typedef enum {
    PDT_SIMD_SCALAR = 0,
    PDT_SIMD_AVX2 = 1,
    PDT_SIMD_AVX512 = 2,
    PDT_SIMD_NEON = 3,
    PDT_SIMD_COUNT = 4
} pdt_simd;

/* Counter-based random stream: draw i of a call depends only on (seed, offset + i). */
typedef struct {
    uint64_t seed;
    uint64_t offset;
} pdt_rng;

/* draw_shapes keeps the spots of an image on the stack: at most this many. */
#define PDT_SHAPES_MAX_SPOTS 16

/* ---- optim, clip, average: hyper-parameters of the optimizer steps (kernels/optim.c) ---- */
enum { PDT_SGD_CLASSIC = 0, PDT_SGD_PYTORCH = 1 };

/* SGD with momentum. classic: m ← μm − α(1−τ)g, θ ← θ + m; pytorch: b ← μb + (1−τ)g
 * (b = g on the first step), θ ← θ − αb. g includes the decay λθ. */
typedef struct {
    double lr, momentum, dampening, weight_decay;
    int nesterov;
    int convention;   /* PDT_SGD_CLASSIC or PDT_SGD_PYTORCH */
    int first_step;   /* pytorch convention: the buffer starts as g */
} pdt_sgd_hp;

/* RMSprop: v ← βv + (1−β)g²; θ ← θ − α g/√(v+ε) (eps_inside_sqrt) or α g/(√v+ε). */
typedef struct {
    double lr, beta, eps, weight_decay, momentum;
    int centered;
    int eps_inside_sqrt;
} pdt_rmsprop_hp;

/* Adam / AdamW at update t (t >= 1); the bias corrections are derived once per call. */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t step;
    int decoupled;    /* AdamW: θ ← θ(1 − αλ) instead of g ← g + λθ */
} pdt_adam_hp;

/* ---- augment: random erasing (kernels/augment.c) ---- */
/* Each image makes up to PDT_ERASE_TRIES tries at a rectangle, four draws a try after the one that decides. */
enum { PDT_ERASE_TRIES = 10, PDT_ERASE_DRAWS = 1 + 4 * PDT_ERASE_TRIES };

/* RandomErasing: with probability p, a rectangle of area scale·h·w (scale uniform in [scale_lo, scale_hi])
 * and aspect ratio r (log r uniform in [log_ratio_lo, log_ratio_hi]) set to value. */
typedef struct {
    double p, scale_lo, scale_hi, log_ratio_lo, log_ratio_hi, value;
} pdt_erase_hp;
/* ---- conv.c: a 2-D window over (N, C, H, W) images ---- */
/* Convolution: weight (O, C/groups, kh, kw), output (N, O, oh, ow) with
 * oh = (h + pad_top + pad_bottom − dh·(kh − 1) − 1)/sh + 1 (the bottom and right padding are implied
 * by oh and ow). Pooling uses n·c planes, o = c, groups = 1, dh = dw = 1. */
typedef struct {
    pdt_int n, c, h, w;
    pdt_int o, oh, ow;
    pdt_int kh, kw, sh, sw, ph, pw, dh, dw;
    pdt_int groups;
} pdt_conv2d;

/* Image blocks of a convolution: each has its own im2col buffer and its own partial dW,
 * summed in block order, so the blocks depend on N only and dW on no thread count. */
#define PDT_CONV_BLOCKS 8
static inline pdt_int pdt_conv2d_blocks(const pdt_conv2d *p) { return p->n < PDT_CONV_BLOCKS ? p->n : PDT_CONV_BLOCKS; }
/* Depthwise (groups = C = O) runs on each plane directly (a zero-padded copy at stride 1, conv_depthwise_flat;
 * tap by tap otherwise), not by im2col + GEMM: its products would have one row per image and group, all call
 * overhead and copying. */
static inline int pdt_conv2d_depthwise(const pdt_conv2d *p) { return p->groups == p->c && p->o == p->c; }
/* Images whose column matrices stand side by side in one GEMM, up to PDT_CONV_COLUMNS columns: for a
 * shallow product (C/groups·kh·kw < PDT_CONV_BATCH_DEPTH, a first layer on 1–3 channels), where a call per
 * image costs more than its multiply-adds, and for a small output plane (< PDT_CONV_BATCH_PLANE, a strided
 * layer), where one image's columns are too few for the GEMM's panels; others gain nothing from it. */
#define PDT_CONV_COLUMNS 1024
#define PDT_CONV_BATCH_DEPTH 32
#define PDT_CONV_BATCH_PLANE 256
static inline pdt_int pdt_conv2d_batch(const pdt_conv2d *p) {
    const pdt_int plane = p->oh * p->ow, blocks = pdt_conv2d_blocks(p);
    const pdt_int most = blocks ? (p->n + blocks - 1) / blocks : 1, batch = PDT_CONV_COLUMNS / plane;
    if (p->c / p->groups * p->kh * p->kw >= PDT_CONV_BATCH_DEPTH && plane >= PDT_CONV_BATCH_PLANE) return 1;
    return batch < 1 ? 1 : batch < most ? batch : most;
}
/* Elements of the working buffer conv2d_forward/backward take (none for depthwise): the tap tables of a
 * strided im2col (kh·kw·oh·ow int32, rounded up to 16 elements), then per block the column matrix
 * (C/groups·kh·kw, batch·oh·ow), a batched output (O/groups, batch·oh·ow) when batch > 1, and a
 * partial dW (O, C/groups·kh·kw). */
static inline pdt_int pdt_conv2d_tables(const pdt_conv2d *p) {
    return pdt_conv2d_depthwise(p) ? 0 : (p->kh * p->kw * p->oh * p->ow + 15) / 16 * 16;
}
/* Winograd F(2×2, 3×3) (kernels/conv_winograd.c) for a 3×3 kernel at stride 1, dilation 1 and padding 1 on every
 * side (the output the input's size), one group, at least PDT_WINOGRAD_CHANNELS input and output channels:
 * 16 multiply-adds a 2×2 tile and channel pair against 36, on products deep enough (C ≥ 16) for the GEMM;
 * a first layer on 1–3 channels stays with im2col. Each block transforms pdt_winograd_images images at a time,
 * their input transform and products (16·(C + O) values a tile) up to PDT_WINOGRAD_ELEMENTS, so that they stay
 * in cache between the transforms and the GEMMs (larger, the transforms' stores miss it). The work size
 * knows no stride, padding or input size, so every 3×3 layer of one group with those channels gets the larger
 * of the two buffers. */
#define PDT_WINOGRAD_CHANNELS 16
#define PDT_WINOGRAD_ELEMENTS 65536
#define PDT_WINOGRAD_SKEW 16
static inline int pdt_conv2d_winograd_sized(const pdt_conv2d *p) {
    return p->kh == 3 && p->kw == 3 && p->groups == 1 && p->c >= PDT_WINOGRAD_CHANNELS &&
           p->o >= PDT_WINOGRAD_CHANNELS;
}
static inline int pdt_conv2d_winograd(const pdt_conv2d *p) {
    return pdt_conv2d_winograd_sized(p) && p->sh == 1 && p->sw == 1 && p->dh == 1 && p->dw == 1 && p->ph == 1 &&
           p->pw == 1 && p->oh == p->h && p->ow == p->w;
}
static inline pdt_int pdt_winograd_images(const pdt_conv2d *p) {
    const pdt_int fit = PDT_WINOGRAD_ELEMENTS / (16 * (p->c + p->o)) / ((p->oh + 1) / 2 * ((p->ow + 1) / 2));
    return fit < 1 ? 1 : fit < p->n ? fit : p->n > 0 ? p->n : 1;
}
/* The image blocks of a Winograd call: one per pdt_winograd_images images, up to PDT_CONV_BLOCKS (from N only). */
static inline pdt_int pdt_winograd_blocks(const pdt_conv2d *p) {
    const pdt_int chunks = (p->n + pdt_winograd_images(p) - 1) / pdt_winograd_images(p);
    return chunks < PDT_CONV_BLOCKS ? chunks : PDT_CONV_BLOCKS;
}
/* A block's buffer: the input transform (16, C, tiles), the products (16, O, tiles) (each position's matrix
 * PDT_WINOGRAD_SKEW elements past the previous one's end), dW's Σ (16, O, C), the padded plane
 * (2·th + 2, 2·tw + 2) and its row pass (2·th + 2, 4, tw), rounded up to 16 elements; the transformed filter
 * (16, O, C), skewed alike, precedes the blocks. */
static inline pdt_int pdt_winograd_block(const pdt_conv2d *p) {
    const pdt_int tiles = pdt_winograd_images(p) * ((p->oh + 1) / 2) * ((p->ow + 1) / 2);
    const pdt_int pad = (p->oh + 1) / 2 * 2 + 2, padw = (p->ow + 1) / 2 * 2 + 2;
    return (16 * ((p->c + p->o) * tiles + 3 * PDT_WINOGRAD_SKEW + p->o * p->c) + pad * (padw + 2 * padw) + 15) /
           16 * 16;
}
static inline pdt_int pdt_conv2d_work(const pdt_conv2d *p) {
    if (pdt_conv2d_depthwise(p)) return 0;
    const pdt_int k = p->c / p->groups * p->kh * p->kw, batch = pdt_conv2d_batch(p), cols = batch * p->oh * p->ow;
    const pdt_int im2col = pdt_conv2d_tables(p) +
                           pdt_conv2d_blocks(p) * (k * cols + (batch > 1 ? p->o / p->groups * cols : 0) + p->o * k);
    if (!pdt_conv2d_winograd_sized(p)) return im2col;
    const pdt_int winograd = 16 * (p->o * p->c + PDT_WINOGRAD_SKEW) + pdt_winograd_blocks(p) * pdt_winograd_block(p);
    return winograd > im2col ? winograd : im2col;
}

/* One entry of the kernel table per kernel and dtype: name_f32, name_f64. */
typedef struct pdt_kernels {
#define PDT_K(name, params) pdt_status (*name##_f32) params;
#define T float
#include "kernels.def"
#undef T
#undef PDT_K
#define PDT_K(name, params) pdt_status (*name##_f64) params;
#define T double
#include "kernels.def"
#undef T
#undef PDT_K
} pdt_kernels;

/* ---- dispatch (dispatch.c) ---- */
int pdt_simd_compiled(pdt_simd level);   /* built into this binary */
int pdt_simd_supported(pdt_simd level);  /* compiled, and the CPU and OS run it */
pdt_simd pdt_simd_best(void);            /* best supported level, capped by PYDTRAIN_SIMD */
const char *pdt_simd_name(pdt_simd level);
const pdt_kernels *pdt_kernels_for(pdt_simd level); /* NULL when not supported */

/* ---- threads (threads.c) ---- */
int pdt_get_num_threads(void);
void pdt_set_num_threads(int n);  /* n >= 1 */
int pdt_openmp_enabled(void);
int pdt_region_chunks(void);              /* blocks a parallel loop is split into (1: it runs in place) */
const char *pdt_threading_backend(void);  /* "pool", "openmp" or "serial" (threads.c) */

/* ---- random numbers (rng.c), Philox4x32-10 ---- */
/* The four 32-bit words of block `counter` of stream `rng.seed`. */
void pdt_philox4x32(uint64_t seed, uint64_t counter, uint32_t out[4]);
/* A uniformly random permutation of 0..n-1 (Fisher–Yates on draws offset..offset+n-1). */
void pdt_permutation(pdt_rng rng, pdt_int n, int64_t *out);

#endif

/*
 * gemm_blocking.h — the block sizes of the GEMM, one table per target and dtype
 * (BLIS's config/<arch>/bli_cntx_init_<arch>.c in six numbers).
 *
 *   MR  rows of C per micro-tile: A values broadcast per k step
 *   NV  vectors of C per micro-tile row, so NR = NV·VN columns
 *   KC  depth of one packed block: the A micro-panel (MR × KC) stays in L1
 *   MC  rows of the packed A block (MC × KC, in L3); a multiple of MR
 *   NC  columns of the packed B block (KC × NC, in L2); a multiple of NR
 *   DM, DN  the dot-product tile of the unpacked x·Wᵀ path (gemm_dot_tile):
 *       DM rows of A × DN rows of B, DM·DN accumulators along k
 *
 * MR·NV accumulators + NV vectors of B + 1 broadcast must fit the register file
 * (16 vector registers on AVX2, 32 on AVX-512 and NEON). AVX-512 is tuned on a
 * Sapphire Rapids core (48 KiB L1d, 2 MiB L2): 12×32 / 12×16 tiles, B blocks of
 * 1 MiB, which stay in L2 (bench/NOTES.md, "Block sizes"). AVX2 keeps BLIS's
 * Haswell tile (6×16 / 6×8) with 256 KiB B blocks for the smaller L2 of AVX2-only
 * cores; NEON follows the same register budget with 0.5 MiB blocks; scalar is the
 * small reference.
 */
#ifndef PDT_GEMM_BLOCKING_H
#define PDT_GEMM_BLOCKING_H

/*                               MR  NV   KC   MC    NC  DM  DN */
#define PDT_GEMM_scalar_f32     ( 4,  4, 256, 256,  256,  2,  2)
#define PDT_GEMM_scalar_f64     ( 4,  4, 256, 256,  256,  2,  2)
#define PDT_GEMM_avx2_f32       ( 6,  2, 256, 960,  256,  3,  4)
#define PDT_GEMM_avx2_f64       ( 6,  2, 256, 960,  128,  3,  4)
#define PDT_GEMM_avx512_f32     (12,  2, 256, 960, 1024,  4,  6)
#define PDT_GEMM_avx512_f64     (12,  2, 256, 960,  512,  4,  6)
#define PDT_GEMM_neon_f32       ( 8,  3, 256, 960,  504,  4,  6)
#define PDT_GEMM_neon_f64       ( 8,  3, 256, 960,  252,  4,  6)

#define PDT_GEMM_MR_(mr, nv, kc, mc, nc, dm, dn) mr
#define PDT_GEMM_NV_(mr, nv, kc, mc, nc, dm, dn) nv
#define PDT_GEMM_KC_(mr, nv, kc, mc, nc, dm, dn) kc
#define PDT_GEMM_MC_(mr, nv, kc, mc, nc, dm, dn) mc
#define PDT_GEMM_NC_(mr, nv, kc, mc, nc, dm, dn) nc
#define PDT_GEMM_DM_(mr, nv, kc, mc, nc, dm, dn) dm
#define PDT_GEMM_DN_(mr, nv, kc, mc, nc, dm, dn) dn
#define PDT_GEMM_APPLY_(f, row) f row
/* the row of the target and dtype being compiled (PDT_TARGET_NAME and SFX are set by targets/) */
#define PDT_GEMM_ROW_ PDT_CAT(PDT_GEMM_, PDT_CAT(PDT_TARGET_NAME, PDT_CAT(_, SFX)))

#define GEMM_MR PDT_GEMM_APPLY_(PDT_GEMM_MR_, PDT_GEMM_ROW_)
#define GEMM_NV PDT_GEMM_APPLY_(PDT_GEMM_NV_, PDT_GEMM_ROW_)
#define GEMM_NR (GEMM_NV * VN)
#define GEMM_KC PDT_GEMM_APPLY_(PDT_GEMM_KC_, PDT_GEMM_ROW_)
#define GEMM_MC PDT_GEMM_APPLY_(PDT_GEMM_MC_, PDT_GEMM_ROW_)
#define GEMM_NC PDT_GEMM_APPLY_(PDT_GEMM_NC_, PDT_GEMM_ROW_)
#define GEMM_DM PDT_GEMM_APPLY_(PDT_GEMM_DM_, PDT_GEMM_ROW_)
#define GEMM_DN PDT_GEMM_APPLY_(PDT_GEMM_DN_, PDT_GEMM_ROW_)

#endif

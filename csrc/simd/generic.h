/*
 * generic.h — the names kernels are written with. A kernel says vload, vfma, V,
 * VN; each dtype pass of a target defines VP (vf32 or vf64) and T (float or
 * double), and these names resolve to that ISA's typed functions
 * (csrc/simd/<isa>.h), e.g. vload -> vf32_load. KN(name) gives the kernel's
 * typed symbol, name_f32 or name_f64.
 */
#ifndef PDT_SIMD_GENERIC_H
#define PDT_SIMD_GENERIC_H

#define PDT_CAT_(a, b) a##b
#define PDT_CAT(a, b) PDT_CAT_(a, b)

#define KN(name) PDT_CAT(name, PDT_CAT(_, SFX))  /* relu_forward -> relu_forward_f32 */

#define V PDT_CAT(VP, _t)         /* vector of T */
#define VMASK PDT_CAT(VP, _mask)  /* lane mask of a comparison */
#define VN PDT_CAT(VP, _N)        /* lanes per vector */
/* Unsigned 32-bit lanes (counter-based RNG), the same for both dtypes, named directly:
 * vu32_t, vu32_N, vu32_load, vu32_store, vu32_set1, vu32_xor,
 * vu32_mulhilo(a, m, &hi) -> low 32 bits of a·m, hi = high 32 bits (per lane). */

#define vload PDT_CAT(VP, _load)            /* (const T *p) -> V, unaligned */
#define vstore PDT_CAT(VP, _store)          /* (T *p, V v) */
#define vload_tail PDT_CAT(VP, _load_tail)  /* (const T *p, pdt_int r): first r lanes, rest 0 */
#define vstore_tail PDT_CAT(VP, _store_tail)/* (T *p, V v, pdt_int r): first r lanes only */
/* The elementwise loop's pair, 1 ≤ r ≤ VN lanes: vload/vstore when r == VN, else the tail's; r == VN
 * is marked the likely case, so the full vector is the fall-through (bench/NOTES.md, "The partial pair"):
 *   for (i = 0; i < n; i += VN) { r = n − i < VN ? n − i : VN; vstore_part(y + i, f(vload_part(x + i, r)), r); } */
#define vload_part PDT_CAT(VP, _load_part)  /* (const T *p, pdt_int r) */
#define vstore_part PDT_CAT(VP, _store_part)/* (T *p, V v, pdt_int r) */
#define vset1 PDT_CAT(VP, _set1)            /* (T s) -> V, every lane s */
#define vzero PDT_CAT(VP, _zero)
#define vadd PDT_CAT(VP, _add)
#define vsub PDT_CAT(VP, _sub)
#define vmul PDT_CAT(VP, _mul)
#define vdiv PDT_CAT(VP, _div)
#define vfma PDT_CAT(VP, _fma)              /* (a, b, c) -> a·b + c */
#define vfnma PDT_CAT(VP, _fnma)            /* (a, b, c) -> c − a·b */
#define vmax PDT_CAT(VP, _max)
#define vmin PDT_CAT(VP, _min)
#define vsqrt PDT_CAT(VP, _sqrt)
#define vabs PDT_CAT(VP, _abs)
#define vgt PDT_CAT(VP, _gt)                /* (a, b) -> mask a > b */
#define vlt PDT_CAT(VP, _lt)                /* (a, b) -> mask a < b */
#define vselect PDT_CAT(VP, _select)        /* (mask, a, b) -> mask ? a : b */
#define vreduce_add PDT_CAT(VP, _reduce_add)/* (V) -> T, sum of lanes in a fixed order */
#define vreduce_max PDT_CAT(VP, _reduce_max)
#define vpow2i PDT_CAT(VP, _pow2i)          /* (V n) -> 2^n, n integer-valued in the normal exponent range */
#define vrcp PDT_CAT(VP, _rcp)              /* (V a) -> 1/a within 1 ulp, a finite, nonzero, normal */
#define vtrunc PDT_CAT(VP, _trunc)            /* (V a) -> a rounded toward zero */
#define vgather PDT_CAT(VP, _gather)          /* (const T *base, V pos) -> base[pos] per lane, pos whole in [0, 2^24) */
#define veven PDT_CAT(VP, _even)              /* (V a, V b) -> lanes 0, 2, 4, … of a then b (a stride-2 load) */
#define vtranspose PDT_CAT(VP, _transpose)  /* (V r[VN]) in place: lane j of r[i] ↔ lane i of r[j] */

#endif

/*
 * vmath.h — elementary functions on vectors, written once against the generic
 * vector API (simd/generic.h) for both dtypes: exp, expm1, sigmoid, tanh, the
 * normal distribution's lower tail Φ(−|x|) and density φ(x) (through erfc),
 * and log(1 + u) for u in [0, 1]. Included once per dtype pass by all.inc, so
 * every name goes through KN(); the dtype picks its coefficients with
 * sizeof(T), a compile-time constant. IEEE semantics are kept (no -ffast-math):
 * NaN in gives NaN out, and ±inf give the mathematical limit.
 *
 * exp, expm1 (Cody & Waite range reduction, then a polynomial):
 *   x = n·ln2 + r, n = round(x/ln2), |r| ≤ ln2/2, ln2 split in hi + lo so n·hi is exact;
 *   e^r − 1 = r + r²·P(r), P the Taylor series 1/2! … 1/7! (float) or 1/2! … 1/13!
 *   (double): truncation below 1.5e-8 (float), 1.2e-17 (double) relative to r.
 *   exp(x) = (1 + (e^r − 1))·2^h·2^(n−h), h = round(n/2), so results near overflow
 *   and gradual underflow come out right with two exact power-of-two factors.
 *   expm1(x) = 2·(2^(n−1)·(e^r − 1) + (2^(n−1) − ½)), no cancellation for small |x|.
 * sigmoid(x) = 1/(1 + e^(−x)) for x ≥ 0, e^x/(1 + e^x) for x < 0 (never overflows).
 * tanh(|x|) = −m/(2 + m), m = expm1(−2|x|): accurate near 0, exactly 1 far out.
 * erfc(t), t ≥ 0 (our own fits, Chebyshev-node interpolation in 60–80-digit arithmetic),
 *   τ = 1/(1 + t/2):
 *   float:  erfc = e^(−t²)·τ·C(τ) on [0, 9.5], C of degree 6, fitted (weighted least squares
 *           towards minimax, float64) to the ABSOLUTE error of x·Φ(−x) relative to what the
 *           GELU test leaves after rounding the result: fit error ≤ 2.4% of that budget, the
 *           float evaluation dominates (the measured bounds below did not move from degree 8);
 *           C's relative error is 6e-7 for t ≤ 2.2, growing to 1e-3 at t = 9.2, where Φ(−x) < 1e-38,
 *           e^(−t²) = 2^s by a degree-5 fit of 2^f, f in [−½, ½] (1.0e-7 relative);
 *   double: t < 1: erfc = 1 − t·E(t²), E of degree 12 (fit error 2e-16);
 *           t ≥ 1: erfc = e^(−t²)·τ·C(τ), C of degree 20 (fit error 4e-16), with
 *           e^(−t²) = e^(−x²/2) corrected by the fma residual of x² (exact on FMA targets).
 * log(1 + u), u in [0, 1]: 1 + u = 2^k·(1 + f), k in {0, 1}, f in [−0.293, 0.415],
 *   log(1 + f) = 2s + 2s·s²·L(s²), s = f/(2 + f), |s| ≤ 0.172, L the atanh series
 *   1/3, 1/5, … (4 terms float, 9 double; truncation below 2e-9 / 2.3e-17 relative).
 *
 * Measured (tests/test_activation.py checks the bounds; numbers from 400001 points on
 * [−20, 20] plus ±88 for float32, against float64; 8001 points plus ±700 for float64,
 * against 40-digit mpmath): float32 exp ≤ 1.02 ulp, sigmoid ≤ 2.25 ulp, tanh ≤ 2.49 ulp;
 * float32 GELU (exact) ≤ 1.35e-7 absolute on [−20, 4) and ≤ 0.5 ulp of the result above;
 * float64 exp ≤ 1 ulp, sigmoid ≤ 2 ulp, tanh ≤ 2 ulp; float64 GELU ≤ 6.3e-16 relative on
 * [−30, 8] with FMA (2.9e-14 on the scalar target, whose e^(−x²/2) lacks the residual).
 */

#include <math.h>

#ifndef VM_F32
#define VM_F32 (sizeof(T) == 4)  /* float pass: the float coefficients */
/* ln2 = hi + lo, hi with trailing zero bits so that n·hi is exact (vm_reduce, vm_log1p_unit) */
#define VM_LN2_HI (VM_F32 ? (T)0.693145751953125 : (T)0.6931471803691238)
#define VM_LN2_LO (VM_F32 ? (T)1.4286068203094173e-06 : (T)1.9082149292705877e-10)
#endif

// c[0] + c[1]·x + … + c[n−1]·x^(n−1) by Horner's rule
static inline V KN(vm_poly)(V x, const double *c, int n) {
    V acc = vset1((T)c[n - 1]);
    for (int i = n - 2; i >= 0; --i) acc = vfma(acc, x, vset1((T)c[i]));
    return acc;
}

// round to the nearest integer (ties to even) for |x| < 2^22 (float) / 2^51 (double):
// adding 1.5·2^mantissa pushes the fraction bits out
static inline V KN(vm_round)(V x) {
    const V magic = vset1(VM_F32 ? (T)12582912.0f : (T)6755399441055744.0);
    return vsub(vadd(x, magic), magic);
}

// e^r − 1 for |r| ≤ ln2/2 (a little more is fine)
static inline V KN(vm_expm1_small)(V r) {
    static const double p32[] = {1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040};
    static const double p64[] = {1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
                                 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800,
                                 1.0 / 479001600, 1.0 / 6227020800.0};
    V p = VM_F32 ? KN(vm_poly)(r, p32, 6) : KN(vm_poly)(r, p64, 12);
    return vfma(vmul(r, r), p, r);
}

// x = n·ln2 + r; returns r and n (integer-valued, clamped to [lo, hi])
static inline V KN(vm_reduce)(V x, T lo, T hi, V *n_out) {
    V n = KN(vm_round)(vmul(x, vset1((T)1.4426950408889634)));
    n = vmin(vmax(n, vset1(lo)), vset1(hi));  // a NaN n becomes a bound: pow2i stays defined
    *n_out = n;
    return vfnma(n, vset1(VM_LN2_LO), vfnma(n, vset1(VM_LN2_HI), x));
}

// e^x
static inline V KN(vexp)(V x) {
    const T hi = VM_F32 ? (T)89.0 : (T)710.0;     // above: +inf
    const T lo = VM_F32 ? (T)-104.0 : (T)-746.0;  // below: 0 (smaller than half the least subnormal)
    V n;
    V r = KN(vm_reduce)(x, VM_F32 ? (T)-250 : (T)-2040, VM_F32 ? (T)250 : (T)2040, &n);
    V h = KN(vm_round)(vmul(n, vset1((T)0.5)));
    V y = vmul(vmul(vadd(KN(vm_expm1_small)(r), vset1((T)1)), vpow2i(h)), vpow2i(vsub(n, h)));
    y = vselect(vgt(x, vset1(hi)), vset1((T)INFINITY), y);
    return vselect(vlt(x, vset1(lo)), vzero(), y);
}

// e^x − 1
static inline V KN(vexpm1)(V x) {
    const T hi = VM_F32 ? (T)89.0 : (T)710.0;  // above: +inf
    const T lo = VM_F32 ? (T)-40.0 : (T)-80.0; // below: −1 (e^x under half an ulp of 1)
    V n;
    V r = KN(vm_reduce)(x, VM_F32 ? (T)-100 : (T)-200, VM_F32 ? (T)128 : (T)1024, &n);
    V s = vpow2i(vsub(n, vset1((T)1)));  // 2^(n−1): stays finite at n = 128 / 1024
    V y = vmul(vset1((T)2), vfma(s, KN(vm_expm1_small)(r), vsub(s, vset1((T)0.5))));
    y = vselect(vgt(x, vset1(hi)), vset1((T)INFINITY), y);
    return vselect(vlt(x, vset1(lo)), vset1((T)-1), y);
}

// σ(x) and σ(−x) = 1 − σ(x), both to full relative accuracy
static inline void KN(vm_sigmoid_pair)(V x, V *pos, V *neg) {
    V e = KN(vexp)(vsub(vzero(), vabs(x)));
    V d = vadd(vset1((T)1), e);
    V big = vdiv(vset1((T)1), d), small = vdiv(e, d);
    VMASK m = vlt(x, vzero());
    *pos = vselect(m, small, big);
    *neg = vselect(m, big, small);
}

// σ(x) = 1/(1 + e^(−x))
static inline V KN(vsigmoid)(V x) {
    V e = KN(vexp)(vsub(vzero(), vabs(x)));
    return vdiv(vselect(vlt(x, vzero()), e, vset1((T)1)), vadd(vset1((T)1), e));
}

// tanh(x)
static inline V KN(vtanh)(V x) {
    V m = KN(vexpm1)(vmul(vset1((T)-2), vabs(x)));
    V t = vdiv(vsub(vzero(), m), vadd(vset1((T)2), m));
    return vselect(vlt(x, vzero()), vsub(vzero(), t), t);
}

#ifndef VM_TAIL_MAX
/* |x| up to which vm_normal_tail computes; beyond, Φ(−|x|) < 1e-37 (float) / 1e-299 (double) */
#define VM_TAIL_MAX (VM_F32 ? 13.0 : 37.0)
#endif

// Φ(−|x|) = erfc(|x|/√2)/2 (the lower tail; double: to relative accuracy, float: to the absolute
// accuracy GELU needs) and u = Φ(−|x|) − |x|·φ(x), φ(x) = e^(−x²/2)/√(2π) (GELU's gradient is u for
// x < 0, 1 − u for x ≥ 0), for |x| ≤ VM_TAIL_MAX; larger |x| give the values at ±VM_TAIL_MAX
// (callers select the limits). Float: u = e^(−x²/2)·(τ·C(τ)/2 − |x|/√(2π)), one rounding fewer.
static inline void KN(vm_normal_tail)(V x, V *tail, V *u) {
    // C/2 (the ½ of Φ = erfc/2 folded in), degree 6
    static const double c32[] = {0.1401601311, 0.1473337773, 0.1113418155, 0.07135501077, 0.1437333561,
                                 -0.1529230889, 0.03899930053};
    static const double q32[] = {1.000000076, 6.93147188e-1, 2.402210727e-1, 5.550357093e-2, 9.676043527e-3,
                                 1.339087485e-3};
    static const double e64[] = {1.1283791670955125738, -3.7612638903183748056e-1, 1.1283791670954878666e-1,
                                 -2.6866170645076793248e-2, 5.2239776248180144673e-3, -8.5483269808337899052e-4,
                                 1.2055331111642710923e-4, -1.4925595266831181565e-5, 1.6461000484121368033e-6,
                                 -1.6350312701054695011e-7, 1.4659775274047435814e-8, -1.137284885679167367e-9,
                                 5.9571761477489114044e-11};
    static const double c64[] = {2.8209479177387815379e-1, 2.8209479177386456175e-1, 2.4683294280506329556e-1,
                                 1.7630924461429680689e-1, 8.3746901880923003191e-2, -4.4080025547027037175e-3,
                                 -5.6745087291587375829e-2, -5.3491848566103335949e-2, -3.4515936850228698221e-3,
                                 4.8368333552587320162e-2, 5.3185904885318211028e-2, 3.6474059806666176284e-2,
                                 -4.0051006079014682319e-1, 1.2881877556924074584, -3.927688978231257867,
                                 8.4773892963511268952, -1.1854179928855565498e+1, 1.0757664353234610856e+1,
                                 -6.2067624202461785528, 2.08994061400702368, -3.1506394402682811447e-1};
    const V one = vset1((T)1), half = vset1((T)0.5);
    V a = vmin(vset1((T)VM_TAIL_MAX), vabs(x));  // a second: NaN stays NaN on every target
    V a2 = vmul(a, a);
    V g;  // e^(−x²/2)
    if (VM_F32) {
        // 2^s, s = −x²·log2(e)/2 in [−122, 0]: n = round(s), 2^(s−n) by a degree-5 fit (1.0e-7 relative).
        // Rounding s costs ≤ 1.5e-8·x² relative, under 2e-9 absolute in x·Φ(−x) and x·φ(x).
        V s2 = vmul(a2, vset1((T)-0.72134752044448170368));
        V n = vmax(KN(vm_round)(s2), vset1((T)-126));  // n first: a NaN becomes −126, pow2i stays defined
        g = vmul(KN(vm_poly)(vsub(s2, n), q32, 6), vpow2i(n));
        V tau = vrcp(vfma(a, vset1((T)0.35355339059327376220), one));  // 1/(1 + t/2) in [0.18, 1]
        const V w = vmul(tau, KN(vm_poly)(tau, c32, 7));
        *tail = vmul(g, w);
        *u = vmul(g, vfnma(a, vset1((T)0.39894228040143267794), w));
    } else {
        V t = vmul(a, vset1((T)0.70710678118654752440));
        V n;
        V r = KN(vm_reduce)(vmul(vset1((T)-0.5), a2), (T)-1022, (T)1023, &n);
        g = vmul(vadd(KN(vm_expm1_small)(r), one), vpow2i(n));
        g = vfnma(g, vmul(half, vfma(a, a, vsub(vzero(), a2))), g);  // × (1 − (x² − fl(x²))/2), exact with fma
        V near = vfnma(t, KN(vm_poly)(vmul(t, t), e64, 13), one);
        V tau = vrcp(vfma(t, half, one));  // 1/(1 + t/2) in (0, 1]
        V far = vmul(vmul(g, tau), KN(vm_poly)(tau, c64, 21));
        *tail = vmul(half, vselect(vlt(t, one), near, far));
        *u = vfnma(a, vmul(g, vset1((T)0.39894228040143267794)), *tail);
    }
}

// log(1 + u) for u in [0, 1]
static inline V KN(vm_log1p_unit)(V u) {
    static const double l32[] = {1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9};
    static const double l64[] = {1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19};
    VMASK halve = vgt(u, vset1((T)0.41421356237309504880));  // 1 + u > √2: use (1 + u)/2
    V f = vselect(halve, vmul(vsub(u, vset1((T)1)), vset1((T)0.5)), u);
    V s = vdiv(f, vadd(vset1((T)2), f));
    V w = vmul(s, s);
    V s2 = vadd(s, s);
    V l = vfma(vmul(s2, w), VM_F32 ? KN(vm_poly)(w, l32, 4) : KN(vm_poly)(w, l64, 9), s2);
    return vselect(halve, vadd(vset1(VM_LN2_HI), vadd(l, vset1(VM_LN2_LO))), l);
}

// log(1 + e^(−|z|)): what softplus and the logistic loss add to max(z, 0) (never overflows)
static inline V KN(vm_log1p_exp_neg_abs)(V z) { return KN(vm_log1p_unit)(KN(vexp)(vsub(vzero(), vabs(z)))); }

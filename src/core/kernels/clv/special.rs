//! Special functions the lifetime-value models need: log-gamma, log-beta and the Gauss
//! hypergeometric function ₂F₁, all in log space so that large counts (x in the hundreds) and
//! long horizons neither overflow nor lose precision.

use crate::core::error::{KpiError, KpiResult};

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// Lanczos approximation, g = 7, nine terms (relative error about 1e-15 for x >= 0.5).
const LANCZOS_G: f64 = 7.0;
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// ln |Γ(x)| and the sign of Γ(x). Γ has poles at 0, −1, −2, …: there the log is +∞.
pub fn ln_gamma_sign(x: f64) -> (f64, f64) {
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let s = (std::f64::consts::PI * x).sin();
        if s == 0.0 {
            return (f64::INFINITY, 1.0);
        }
        let (l, _) = ln_gamma_sign(1.0 - x);
        return (std::f64::consts::PI.ln() - s.abs().ln() - l, s.signum());
    }
    let x = x - 1.0;
    let mut a = LANCZOS[0];
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    let t = x + LANCZOS_G + 0.5;
    (LN_SQRT_2PI + (x + 0.5) * t.ln() - t + a.ln(), 1.0)
}

/// ln Γ(x) for x > 0.
#[inline]
pub fn ln_gamma(x: f64) -> f64 {
    ln_gamma_sign(x).0
}

/// ψ(x) = d ln Γ(x) / dx, for the analytic gradients of the likelihoods. Recurrence
/// ψ(x) = ψ(x + 1) − 1/x up to x >= 10, then the asymptotic series (error below 1e-15 there);
/// reflection ψ(1 − x) − ψ(x) = π cot(πx) below 0.5 (NaN at the poles 0, −1, −2, …).
pub fn digamma(x: f64) -> f64 {
    if x < 0.5 {
        let t = (std::f64::consts::PI * x).tan();
        if t == 0.0 || !x.is_finite() {
            return f64::NAN;
        }
        return digamma(1.0 - x) - std::f64::consts::PI / t;
    }
    let mut x = x;
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let z = 1.0 / (x * x);
    // Bernoulli-number series: −1/(2x) − Σ B_2k / (2k x^2k).
    let series = z
        * (1.0 / 12.0
            - z * (1.0 / 120.0
                - z * (1.0 / 252.0 - z * (1.0 / 240.0 - z * (1.0 / 132.0 - z * 691.0 / 32760.0)))));
    acc + x.ln() - 0.5 / x - series
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0.
#[inline]
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// A real number as (ln |v|, sign): the form ₂F₁ is returned in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogValue {
    pub ln_abs: f64,
    pub sign: f64,
}

impl LogValue {
    pub fn value(&self) -> f64 {
        self.sign * self.ln_abs.exp()
    }

    fn add(self, o: LogValue) -> LogValue {
        if self.sign == 0.0 || self.ln_abs == f64::NEG_INFINITY {
            return o;
        }
        if o.sign == 0.0 || o.ln_abs == f64::NEG_INFINITY {
            return self;
        }
        let (hi, lo) = if self.ln_abs >= o.ln_abs {
            (self, o)
        } else {
            (o, self)
        };
        let ratio = (lo.ln_abs - hi.ln_abs).exp() * lo.sign * hi.sign;
        let s = 1.0 + ratio;
        LogValue {
            ln_abs: hi.ln_abs + s.abs().ln(),
            sign: if s == 0.0 { 0.0 } else { hi.sign * s.signum() },
        }
    }
}

const MAX_TERMS: usize = 2_000_000;

/// The power series Σ (a)ₙ(b)ₙ/(c)ₙ zⁿ/n!, summed with rescaling so that growing terms cannot
/// overflow. Used for |z| <= 0.9 after the transformations below (and as a fallback near 1).
fn series(a: f64, b: f64, c: f64, z: f64) -> KpiResult<LogValue> {
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    let mut ln_scale = 0.0f64;
    for n in 0..MAX_TERMS {
        let nf = n as f64;
        let ratio = (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        let q = ratio.abs().max(z.abs());
        // A zero term ends a terminating series (a or b a non-positive integer); otherwise the
        // remaining terms shrink at least geometrically with ratio q once the term ratio has
        // settled below 1 (it tends to z from either side).
        if term == 0.0 || (q < 1.0 && term.abs() * q / (1.0 - q) <= 1e-17 * sum.abs()) {
            return Ok(LogValue {
                ln_abs: sum.abs().ln() + ln_scale,
                sign: sum.signum(),
            });
        }
        if sum.abs() > 1e250 || term.abs() > 1e250 {
            sum *= 1e-250;
            term *= 1e-250;
            ln_scale += 250.0 * std::f64::consts::LN_10;
        }
        if !sum.is_finite() {
            break;
        }
    }
    Err(KpiError::NotConverged {
        what: "hypergeometric 2F1".into(),
        reason: format!("series for a={a}, b={b}, c={c}, z={z} did not converge"),
    })
}

/// Below this distance of c − a − b from an integer the connection formula to 1 − z is not
/// used: its two terms grow like 1/distance and cancel (2.00001 lost 3e-8 relative; at 0.05
/// the loss is below 1e-13, see the tests).
const NEAR_INTEGER: f64 = 0.05;

/// ₂F₁ for 0.9 < z < 1 by analytic continuation along the hypergeometric differential equation
///   z(1 − z) F'' + (c − (a + b + 1) z) F' − ab F = 0,
/// from z₀ = 0.9 (F and F' = ab/c · ₂F₁(a+1, b+1; c+1; z₀) by the series) in Taylor steps that
/// each halve the distance to the singular point 1, so every step's series converges at least
/// like 2⁻ᵏ (the other singular point, 0, is farther away). No Γ functions of c − a − b, hence
/// no cancellation when it is (near) an integer. When c − a − b < 0 Euler's transformation
/// F = (1 − z)^(c−a−b) F(c−a, c−b; c; z) is applied first so that the continued function stays
/// bounded as z → 1.
fn continued(a: f64, b: f64, c: f64, z: f64) -> KpiResult<LogValue> {
    let d = c - a - b;
    if d < -0.5 {
        let f = continued(c - a, c - b, c, z)?;
        return Ok(LogValue {
            ln_abs: f.ln_abs + d * (1.0 - z).ln(),
            sign: f.sign,
        });
    }
    const Z0: f64 = 0.9;
    let f0 = series(a, b, c, Z0)?;
    let g0 = series(a + 1.0, b + 1.0, c + 1.0, Z0)?;
    // (value, derivative) divided by e^scale: only their ratio matters inside a step.
    let mut scale = f0.ln_abs;
    let mut f = f0.sign;
    let mut fp = a * b / c * g0.sign * (g0.ln_abs - scale).exp();
    // Positions are kept as distances w = 1 − z, which halve exactly: z itself would carry
    // an absolute rounding error of 1e-16 that is a large relative error in 1 − z near 1.
    let (mut w, w_end) = (1.0 - Z0, 1.0 - z);
    loop {
        let last = w_end >= 0.5 * w;
        let h = if last { w - w_end } else { 0.5 * w };
        let (v, dv) = taylor_step(a, b, c, w, f, fp, h).ok_or_else(|| KpiError::NotConverged {
            what: "hypergeometric 2F1".into(),
            reason: format!("continuation for a={a}, b={b}, c={c} to z={z} did not converge"),
        })?;
        w = if last { w_end } else { 0.5 * w };
        let s = v.abs().max(dv.abs() * w);
        if !(s.is_finite() && s > 0.0) {
            return Err(KpiError::NotConverged {
                what: "hypergeometric 2F1".into(),
                reason: format!("continuation for a={a}, b={b}, c={c} to z={z} overflowed"),
            });
        }
        scale += s.ln();
        f = v / s;
        fp = dv / s;
        if last {
            break;
        }
    }
    Ok(LogValue {
        ln_abs: f.abs().ln() + scale,
        sign: if f == 0.0 { 0.0 } else { f.signum() },
    })
}

/// One Taylor step of the hypergeometric equation from z₀ = 1 − `w` (value `f`, derivative
/// `fp`) by `h` towards 1: terms tₖ = fₖ hᵏ with the recurrence of the equation's coefficients,
///   z₀(1−z₀)(k+1)(k+2) fₖ₊₂ = (k+a)(k+b) fₖ − (k+1)((1−2z₀)k + c − (a+b+1)z₀) fₖ₊₁,
/// written in w (c − (a+b+1)z₀ = c−a−b−1 + (a+b+1)w, no cancellation near z₀ = 1).
/// Returns (F(z₀ + h), F'(z₀ + h)), or None if the terms did not die out.
fn taylor_step(a: f64, b: f64, c: f64, w: f64, f: f64, fp: f64, h: f64) -> Option<(f64, f64)> {
    let p = (1.0 - w) * w;
    let (p1, q) = (2.0 * w - 1.0, (c - a - b - 1.0) + (a + b + 1.0) * w);
    let (mut t0, mut t1) = (f, fp * h);
    let (mut v, mut dv) = (t0 + t1, fp);
    for k in 0..20_000 {
        let kf = k as f64;
        let t2 = ((kf + a) * (kf + b) * h * h * t0 - (kf + 1.0) * (p1 * kf + q) * h * t1)
            / (p * (kf + 1.0) * (kf + 2.0));
        v += t2;
        dv += (kf + 2.0) * t2 / h;
        // The ratio of successive terms tends to h/w <= 1/2, so once two consecutive terms
        // (weighted by k for the derivative) are below 1e-17 of the sums the rest is too.
        let tiny = 1e-17 * v.abs().max(dv.abs() * h);
        if k > 2 && (kf + 2.0) * (t1.abs() + t2.abs()) <= tiny {
            return Some((v, dv));
        }
        if !v.is_finite() || !dv.is_finite() {
            return None;
        }
        t0 = t1;
        t1 = t2;
    }
    None
}

/// 1 / Γ(x) is zero at the poles of Γ: whether `x` is one.
fn is_pole(x: f64) -> bool {
    x <= 0.0 && x == x.round()
}

/// The Gauss hypergeometric function ₂F₁(a, b; c; z) for real parameters and z < 1, as
/// (ln |F|, sign).
///
/// - |z| <= 0.9: the power series (all terms positive when a, b, c > 0 and z >= 0, so it is
///   summed without cancellation).
/// - z < −0.9: Pfaff's transformation F = (1 − z)^(−a) F(a, c − b; c; z/(z − 1)), whose argument
///   lies in [0.47, 1).
/// - 0.9 < z < 1: the connection formula to 1 − z (Abramowitz & Stegun 15.3.6), unless c − a − b
///   is within 0.05 of an integer, where that formula degenerates (its two terms cancel); then
///   the differential equation is continued from z = 0.9 ([`continued`]).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> KpiResult<LogValue> {
    if !(a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite()) || z >= 1.0 {
        return Err(KpiError::param(
            "z",
            format!("2F1({a}, {b}; {c}; {z}) needs finite parameters and z < 1"),
        ));
    }
    if is_pole(c) {
        return Err(KpiError::param(
            "c",
            format!("2F1 is undefined for c = {c} (a non-positive integer)"),
        ));
    }
    if z == 0.0 || a == 0.0 || b == 0.0 {
        return Ok(LogValue {
            ln_abs: 0.0,
            sign: 1.0,
        });
    }
    if z < -0.9 {
        let w = z / (z - 1.0);
        let f = hyp2f1(a, c - b, c, w)?;
        return Ok(LogValue {
            ln_abs: f.ln_abs - a * (1.0 - z).ln(),
            sign: f.sign,
        });
    }
    if z <= 0.9 {
        return series(a, b, c, z);
    }
    let d = c - a - b;
    if (d - d.round()).abs() >= NEAR_INTEGER {
        if let Some(f) = connection(a, b, c, z)? {
            return Ok(f);
        }
    }
    continued(a, b, c, z)
}

/// The connection formula to 1 − z (Abramowitz & Stegun 15.3.6), or None when it would lose
/// precision: its two terms can be much larger than F and of opposite signs (c − a − b near an
/// integer, large a and b), and ln Γ of large arguments carries an absolute rounding error.
/// The relative error is estimated as ε · Σ |term|/|F| · (1 + Σ |ln Γ| of the term) and the
/// formula is used only when that is below 1e-14.
fn connection(a: f64, b: f64, c: f64, z: f64) -> KpiResult<Option<LogValue>> {
    let d = c - a - b;
    let w = 1.0 - z;
    // F = Γ(c)Γ(d)/(Γ(c−a)Γ(c−b)) F(a, b; 1−d; w) + w^d Γ(c)Γ(−d)/(Γ(a)Γ(b)) F(c−a, c−b; 1+d; w)
    let (lgc, sgc) = ln_gamma_sign(c);
    let mut out = LogValue {
        ln_abs: f64::NEG_INFINITY,
        sign: 0.0,
    };
    // (ln |term|, size of the logs summed in it) per term, for the error estimate.
    let mut parts = [(f64::NEG_INFINITY, 0.0); 2];
    if !is_pole(c - a) && !is_pole(c - b) {
        let (l1, s1) = ln_gamma_sign(d);
        let (l2, s2) = ln_gamma_sign(c - a);
        let (l3, s3) = ln_gamma_sign(c - b);
        let f = series(a, b, 1.0 - d, w)?;
        let ln_abs = lgc + l1 - l2 - l3 + f.ln_abs;
        parts[0] = (ln_abs, lgc.abs() + l1.abs() + l2.abs() + l3.abs());
        out = out.add(LogValue {
            ln_abs,
            sign: sgc * s1 * s2 * s3 * f.sign,
        });
    }
    if !is_pole(a) && !is_pole(b) {
        let (l1, s1) = ln_gamma_sign(-d);
        let (l2, s2) = ln_gamma_sign(a);
        let (l3, s3) = ln_gamma_sign(b);
        let f = series(c - a, c - b, 1.0 + d, w)?;
        let ln_abs = d * w.ln() + lgc + l1 - l2 - l3 + f.ln_abs;
        parts[1] = (
            ln_abs,
            (d * w.ln()).abs() + lgc.abs() + l1.abs() + l2.abs() + l3.abs(),
        );
        out = out.add(LogValue {
            ln_abs,
            sign: sgc * s1 * s2 * s3 * f.sign,
        });
    }
    let err: f64 = parts
        .iter()
        .map(|&(l, logs)| (l - out.ln_abs).exp() * (1.0 + logs))
        .sum::<f64>()
        * f64::EPSILON;
    Ok((err.is_finite() && err < 1e-14).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn digamma_known_values() {
        // ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2, ψ(10) = H_9 − γ.
        let euler = 0.577_215_664_901_532_9;
        assert!(close(digamma(1.0), -euler, 1e-14));
        assert!(close(digamma(0.5), -euler - 2.0 * 2f64.ln(), 1e-14));
        let h9: f64 = (1..10).map(|k| 1.0 / k as f64).sum();
        assert!(close(digamma(10.0), h9 - euler, 1e-14));
        // ψ(x + 1) = ψ(x) + 1/x holds across the recurrence / series boundary and below 0.5.
        for x in [0.01, 0.3, 2.7, 5.5, 9.999, 40.0, 1e4] {
            assert!(close(digamma(x + 1.0), digamma(x) + 1.0 / x, 1e-13), "{x}");
        }
        // The derivative of ln Γ (central difference).
        for x in [0.05, 0.8, 3.3, 250.0] {
            let h = 1e-5 * x;
            let fd = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!(close(digamma(x), fd, 1e-7), "{x}");
        }
    }

    #[test]
    fn ln_gamma_matches_factorials_and_half_integers() {
        // Γ(n) = (n − 1)!
        let mut fact = 1.0f64;
        for n in 1..30 {
            assert!(close(ln_gamma(n as f64), fact.ln(), 1e-13), "n={n}");
            fact *= n as f64;
        }
        // Γ(1/2) = √π, Γ(−1/2) = −2√π
        let sqrt_pi = std::f64::consts::PI.sqrt();
        assert!(close(ln_gamma(0.5), sqrt_pi.ln(), 1e-14));
        let (l, s) = ln_gamma_sign(-0.5);
        assert_eq!(s, -1.0);
        assert!(close(l, (2.0 * sqrt_pi).ln(), 1e-13));
    }

    #[test]
    fn hyp2f1_elementary_cases() {
        // 2F1(1, 1; 2; z) = −ln(1 − z) / z
        for z in [0.1f64, 0.5, 0.89, 0.95, 0.999, -0.5, -3.0] {
            let want = -(1.0 - z).ln() / z;
            let got = hyp2f1(1.0, 1.0, 2.0, z).unwrap().value();
            assert!(close(got, want, 1e-12), "z={z}: {got} vs {want}");
        }
        // 2F1(a, b; b; z) = (1 − z)^(−a)
        for z in [0.3f64, 0.93, 0.999_9, -5.0] {
            let got = hyp2f1(2.5, 1.3, 1.3, z).unwrap().value();
            assert!(close(got, (1.0 - z).powf(-2.5), 1e-11), "z={z}");
        }
        // 2F1(1/2, 1/2; 3/2; z²) = arcsin(z) / z
        for x in [0.3f64, 0.97, 0.999] {
            let got = hyp2f1(0.5, 0.5, 1.5, x * x).unwrap().value();
            assert!(close(got, x.asin() / x, 1e-11), "x={x}");
        }
    }

    #[test]
    fn hyp2f1_connection_formula_agrees_with_the_series() {
        // Near z = 0.9 both branches apply: 0.9 by series, 0.9000001 by the 1 − z formula.
        for (a, b, c) in [
            (0.8, 2.3, 3.7),
            (5.2, 6.1, 10.4),
            (0.24, 2.4, 2.2),
            (12.3, 1.7, 13.3),
        ] {
            let s = hyp2f1(a, b, c, 0.9).unwrap().value();
            let t = hyp2f1(a, b, c, 0.900_000_1).unwrap().value();
            assert!(close(s, t, 1e-5), "{a},{b},{c}: {s} vs {t}");
            let r = reference_series(a, b, c, 0.900_000_1);
            assert!(close(t, r, 1e-13), "{a},{b},{c}: {t} vs {r}");
        }
    }

    #[test]
    fn hyp2f1_large_parameters_stay_finite_in_log_space() {
        // Terms grow to ~1e300 before they shrink; the log is still accurate against the
        // closed form 2F1(a, b; b; z) = (1 − z)^(−a).
        let got = hyp2f1(900.0, 400.0, 400.0, 0.8).unwrap();
        assert!(close(got.ln_abs, -900.0 * (0.2f64).ln(), 1e-12));
    }
    /// Direct series with compensated (Kahan) summation, for a, b, c > 0 and 0 < z < 1 (all
    /// terms positive). Stops at the first n >= N where the term ratio rₙ = (a+n)(b+n)/((c+n)(n+1))·z
    /// has started to decrease towards z (N past the turning point of the ratio) and the tail
    /// bound tₙ·q/(1 − q), q = max(rₙ, z), is below 1e-18 of the sum.
    fn reference_series(a: f64, b: f64, c: f64, z: f64) -> f64 {
        let (mut sum, mut comp, mut term) = (1.0f64, 0.0f64, 1.0f64);
        let turn = (a + b + c + 10.0) * 4.0;
        for n in 0..10_000_000usize {
            let nf = n as f64;
            let r = (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
            term *= r;
            let y = term - comp;
            let t = sum + y;
            comp = (t - sum) - y;
            sum = t;
            let q = r.max(z);
            if nf > turn && q < 1.0 && term * q / (1.0 - q) < 1e-18 * sum {
                return sum;
            }
        }
        panic!("reference series did not converge");
    }

    #[test]
    fn hyp2f1_near_integer_c_minus_a_minus_b_against_high_precision_values() {
        // mpmath 1.3 hyp2f1 at 40 digits, the z given as these exact doubles. The first is the
        // sBG DERL of α = 2.00001, β = 1, no renewals yet, d = 0.0625 (c − a − b = 1.00001),
        // where the connection formula lost 3e-8.
        let cases = [
            (1.0, 2.0, 4.00001, 1.0 / 1.0625, 2.386_516_471_194_142),
            (0.5, 1.5, 2.0, 0.999, 4.892_810_746_675_38),
            (0.3, 2.7, 1.000_000_1, 0.999_99, 2_164_040_755.462_759),
            (2.5, 3.5, 6.02, 0.95, 21.630_209_404_105_26),
            (12.3, 1.7, 13.97, 0.999_9, 491.902_012_188_767_05),
            (
                30.5,
                28.0,
                57.499_999_999,
                0.999,
                3.488_416_918_514_606_4e18,
            ),
            (0.2, 0.4, -0.399_99, 0.95, -5.433_958_700_959_279),
            (1.0, 3.0, 4.0, 0.999_999_999_999, 78.393_129_713_921_25),
            (0.7, 0.9, 1.6, 0.900_000_1, 2.125_410_692_008_143),
        ];
        for (a, b, c, z, want) in cases {
            let got = hyp2f1(a, b, c, z).unwrap().value();
            assert!(
                close(got, want, 1e-13),
                "2F1({a}, {b}; {c}; {z}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn hyp2f1_on_a_grid_of_near_integer_c_minus_a_minus_b() {
        // c − a − b = m + ε for m = −3 … 3 and ε from 1e-12 to 0.3 (both sides of the 0.05
        // switch between continuation and connection formula), z from 0.9 to 0.995, against
        // the directly summed series.
        let mut worst = 0.0f64;
        for (a, b) in [(1.0, 2.0), (0.243, 2.426), (5.5, 0.7), (3.0, 12.25)] {
            for m in -3..=3 {
                for eps in [0.0, 1e-12, 1e-9, 1e-5, -1e-5, 1e-3, 0.049, -0.051, 0.1, 0.3] {
                    let c = a + b + m as f64 + eps;
                    if c <= 0.0 {
                        continue;
                    }
                    for z in [0.900_01, 0.93, 1.0 / 1.0625, 0.97, 0.99, 0.995] {
                        let got = hyp2f1(a, b, c, z).unwrap().value();
                        let want = reference_series(a, b, c, z);
                        let rel = (got - want).abs() / want.abs();
                        worst = worst.max(rel);
                        assert!(
                            rel < 1e-12,
                            "2F1({a}, {b}; {c}; {z}) = {got}, series {want}"
                        );
                    }
                }
            }
        }
        assert!(worst > 0.0);
    }

    #[test]
    fn continuation_agrees_with_the_connection_formula_away_from_integers() {
        // Where c − a − b is far from an integer both methods are exact up to rounding.
        for (a, b, c) in [
            (0.8, 2.3, 3.7),
            (5.2, 6.1, 10.4),
            (0.24, 2.4, 2.2),
            (12.3, 1.7, 13.3),
        ] {
            for z in [0.91, 0.99, 0.999_9, 1.0 - 1e-9] {
                let s = hyp2f1(a, b, c, z).unwrap().value();
                let t = continued(a, b, c, z).unwrap().value();
                assert!(close(t, s, 1e-12), "{a},{b},{c},{z}: {t} vs {s}");
            }
        }
    }
}

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
///   is within 1e-6 of an integer, where that formula degenerates; then the series is summed
///   directly (slower, still convergent for z < 1).
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
    if (d - d.round()).abs() < 1e-6 {
        return series(a, b, c, z);
    }
    let w = 1.0 - z;
    // F = Γ(c)Γ(d)/(Γ(c−a)Γ(c−b)) F(a, b; 1−d; w) + w^d Γ(c)Γ(−d)/(Γ(a)Γ(b)) F(c−a, c−b; 1+d; w)
    let (lgc, sgc) = ln_gamma_sign(c);
    let mut out = LogValue {
        ln_abs: f64::NEG_INFINITY,
        sign: 0.0,
    };
    if !is_pole(c - a) && !is_pole(c - b) {
        let (l1, s1) = ln_gamma_sign(d);
        let (l2, s2) = ln_gamma_sign(c - a);
        let (l3, s3) = ln_gamma_sign(c - b);
        let f = series(a, b, 1.0 - d, w)?;
        out = out.add(LogValue {
            ln_abs: lgc + l1 - l2 - l3 + f.ln_abs,
            sign: sgc * s1 * s2 * s3 * f.sign,
        });
    }
    if !is_pole(a) && !is_pole(b) {
        let (l1, s1) = ln_gamma_sign(-d);
        let (l2, s2) = ln_gamma_sign(a);
        let (l3, s3) = ln_gamma_sign(b);
        let f = series(c - a, c - b, 1.0 + d, w)?;
        out = out.add(LogValue {
            ln_abs: d * w.ln() + lgc + l1 - l2 - l3 + f.ln_abs,
            sign: sgc * s1 * s2 * s3 * f.sign,
        });
    }
    Ok(out)
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
        }
    }

    #[test]
    fn hyp2f1_large_parameters_stay_finite_in_log_space() {
        // Terms grow to ~1e300 before they shrink; the log is still accurate against the
        // closed form 2F1(a, b; b; z) = (1 − z)^(−a).
        let got = hyp2f1(900.0, 400.0, 400.0, 0.8).unwrap();
        assert!(close(got.ln_abs, -900.0 * (0.2f64).ln(), 1e-12));
    }
}

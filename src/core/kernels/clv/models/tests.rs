//! Tests of the models: likelihoods against row formulas, gradients against differences,
//! published fits.

use super::*;
use crate::core::kernels::clv::optim::Options;
use crate::core::kernels::clv::special::{hyp2f1, ln_gamma};

#[test]
fn per_x_sums_equal_the_row_by_row_likelihoods() {
    let x = [0.0, 1.0, 1.0, 4.0, 0.0, 7.0];
    let tx = [0.0, 3.5, 20.0, 30.0, 0.0, 12.0];
    let t = [10.0, 38.0, 38.0, 39.0, 2.0, 12.5];
    let d = collapse(&x, &tx, &t, Some(&[1.0, 2.0, 1.0, 0.5, 3.0, 1.0])).unwrap();
    let p = [0.243, 4.414, 0.793, 2.426];
    let rows: f64 = (0..d.x.len())
        .map(|i| d.w[i] * beta_geo_ll_one(&p, d.x[i], d.tx[i], d.t[i]))
        .sum();
    assert!((beta_geo_ll(&p, &d) - rows).abs() < 1e-10 * rows.abs());
    let g = collapse_spend(&x, &[0.0, 20.0, 35.0, 12.5, 0.0, 40.0], None).unwrap();
    let gp = [6.25, 3.74, 15.44];
    let rows: f64 = (0..g.x.len())
        .map(|i| g.w[i] * gamma_gamma_ll_one(&gp, g.x[i], g.tx[i]))
        .sum();
    assert!((gamma_gamma_ll(&gp, &g) - rows).abs() < 1e-10 * rows.abs());
}

/// A small deterministic generator (xorshift) for random test points.
struct Rng(u64);
impl Rng {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (hi - lo) * (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Analytic gradient against central differences of the value, relative tolerance.
fn check_gradient(name: &str, p: &[f64], f: &super::super::optim::LlGrad<'_>, tol: f64) {
    let (v, g) = f(p);
    assert!(v.is_finite(), "{name} at {p:?}: {v}");
    for j in 0..p.len() {
        let h = 1e-6 * p[j];
        let mut q = p.to_vec();
        q[j] = p[j] + h;
        let up = f(&q).0;
        q[j] = p[j] - h;
        let down = f(&q).0;
        let fd = (up - down) / (2.0 * h);
        let scale = fd.abs().max(g[j].abs()).max(1.0);
        assert!(
            (g[j] - fd).abs() <= tol * scale,
            "{name} d/d{j} at {p:?}: analytic {} vs finite difference {fd}",
            g[j]
        );
    }
}

#[test]
fn analytic_gradients_match_finite_differences_at_random_points() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Customers: one-time buyers, repeat buyers, recency 0 and recency = T among them.
    let mut x = vec![0.0, 1.0, 3.0, 12.0];
    let mut tx = vec![0.0, 0.0, 20.0, 31.0];
    let mut t = vec![35.0, 10.0, 20.0, 39.0];
    for _ in 0..200 {
        let ti = rng.uniform(0.5, 60.0);
        let xi = (rng.uniform(0.0, 15.0)).floor();
        x.push(xi);
        tx.push(if xi > 0.0 { rng.uniform(0.0, ti) } else { 0.0 });
        t.push(ti);
    }
    let w: Vec<f64> = (0..x.len()).map(|_| rng.uniform(0.1, 3.0)).collect();
    let d = collapse(&x, &tx, &t, Some(&w)).unwrap();
    let m: Vec<f64> = (0..x.len()).map(|_| rng.uniform(1.0, 200.0)).collect();
    let g = collapse_spend(&x, &m, Some(&w)).unwrap();
    let (periods, churned, sw) =
        sbg_rows_from_survivors(&[1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0])
            .unwrap();
    for _ in 0..25 {
        let p = [
            rng.uniform(0.05, 5.0),
            rng.uniform(0.5, 50.0),
            rng.uniform(0.05, 5.0),
            rng.uniform(0.05, 10.0),
        ];
        check_gradient("BG/NBD", &p, &|q| beta_geo_ll_grad(q, &d), 1e-6);
        let gp = [
            rng.uniform(0.3, 20.0),
            rng.uniform(0.3, 20.0),
            rng.uniform(0.5, 100.0),
        ];
        check_gradient("Gamma-Gamma", &gp, &|q| gamma_gamma_ll_grad(q, &g), 1e-6);
        let sp = [rng.uniform(0.05, 10.0), rng.uniform(0.05, 10.0)];
        check_gradient(
            "sBG",
            &sp,
            &|q| sbg_ll_grad(q, &periods, &churned, &sw),
            1e-6,
        );
    }
}

#[test]
fn pareto_gradient_matches_finite_differences_at_random_points() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    // One-time buyers, recency 0 and recency close to T among the customers.
    let mut x = vec![0.0, 1.0, 3.0, 40.0];
    let mut tx = vec![0.0, 0.0, 19.9, 31.0];
    let mut t = vec![35.0, 10.0, 20.0, 39.0];
    for _ in 0..150 {
        let ti = rng.uniform(0.5, 60.0);
        let xi = (rng.uniform(0.0, 15.0)).floor();
        x.push(xi);
        tx.push(if xi > 0.0 { rng.uniform(0.0, ti) } else { 0.0 });
        t.push(ti);
    }
    let w: Vec<f64> = (0..x.len()).map(|_| rng.uniform(0.1, 3.0)).collect();
    let d = collapse(&x, &tx, &t, Some(&w)).unwrap();
    // The value is the existing likelihood's.
    let p = [0.553, 10.578, 0.606, 11.669];
    let (v, _) = pareto_ll_grad(&p, &d);
    assert!((v - pareto_ll(&p, &d)).abs() < 1e-10 * v.abs());
    let mut points = vec![
        p,
        [0.553, 11.669, 0.606, 10.578],
        // α ≫ β and α ≪ β: z = |α−β|/(m+u) above 0.9, the finite-difference branch.
        [0.8, 400.0, 0.7, 2.0],
        [1.2, 1.0, 0.4, 300.0],
    ];
    for _ in 0..30 {
        points.push([
            rng.uniform(0.05, 5.0),
            rng.uniform(0.5, 80.0),
            rng.uniform(0.05, 5.0),
            rng.uniform(0.5, 80.0),
        ]);
    }
    for p in points {
        let f = |q: &[f64]| pareto_ll_grad(q, &d);
        check_gradient("Pareto/NBD", &p, &f, 1e-6);
        assert!(
            (f(&p).0 - pareto_ll(&p, &d)).abs() < 1e-9 * f(&p).0.abs(),
            "{p:?}"
        );
    }
}

#[test]
fn pareto_hypergeometric_derivatives_match_differences_of_hyp2f1() {
    // The series branch (z <= 0.9) against central differences of the general ₂F₁.
    for (k, b, z) in [
        (0.7, 1.6, 0.3),
        (15.2, 1.6, 0.85),
        (3.0, 40.5, 0.6),
        (0.2, 0.9, 0.9),
    ] {
        let [lnf, gk, gb, gz] = pareto_hyp_grad(k, b, z).unwrap();
        let ln = |k: f64, b: f64, z: f64| hyp2f1(k, b, k + 1.0, z).unwrap().ln_abs;
        assert!((lnf - ln(k, b, z)).abs() < 1e-13 * lnf.abs().max(1.0));
        let h = 1e-6;
        let fk = (ln(k + h, b, z) - ln(k - h, b, z)) / (2.0 * h);
        let fb = (ln(k, b + h, z) - ln(k, b - h, z)) / (2.0 * h);
        let fz = (ln(k, b, z + h) - ln(k, b, z - h)) / (2.0 * h);
        for (got, want) in [(gk, fk), (gb, fb), (gz, fz)] {
            assert!(
                (got - want).abs() < 1e-7 * want.abs().max(1.0),
                "{k},{b},{z}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn per_x_likelihood_equals_the_row_formula() {
    // beta_geo_ll_grad's value (terms per distinct x) against beta_geo_ll_one row by row.
    let x = [0.0, 2.0, 2.0, 5.0];
    let tx = [0.0, 10.0, 30.5, 37.0];
    let t = [38.0, 38.0, 38.0, 38.0];
    let d = collapse(&x, &tx, &t, None).unwrap();
    let p = [0.5, 6.0, 1.2, 3.1];
    let rows: f64 = (0..4).map(|i| beta_geo_ll_one(&p, x[i], tx[i], t[i])).sum();
    assert!((beta_geo_ll_grad(&p, &d).0 - rows).abs() < 1e-11 * rows.abs());
}

#[test]
fn pareto_p_n_closed_form_agrees_with_the_death_time_quadrature() {
    // Both branches (α < β and α > β), small and large t.
    for p in [
        [0.553, 10.578, 0.606, 11.669],
        [1.3, 2.0, 2.5, 30.0],
        [1.3, 90.0, 2.5, 30.0],
        [0.2, 0.5, 0.3, 0.1],
    ] {
        for t in [0.5, 10.0, 39.0, 200.0] {
            for n in 0..30 {
                let n = n as f64;
                let closed = pareto_p_n(&p, t, n).unwrap();
                let quad = pareto_p_n_by_quadrature(&p, t, n).unwrap();
                assert!(
                    (closed - quad).abs() <= 1e-8 * quad.abs() + 1e-300,
                    "{p:?} t {t} n {n}: {closed} vs {quad}"
                );
            }
        }
    }
}

#[test]
fn beta_geo_p_alive_is_one_without_repeat_purchases() {
    assert_eq!(
        beta_geo_p_alive(&[0.243, 4.414, 0.793, 2.426], 0.0, 0.0, 38.86),
        1.0
    );
}

#[test]
fn beta_geo_probabilities_of_n_sum_to_one() {
    let p = [0.243, 4.414, 0.793, 2.426];
    let total: f64 = (0..400).map(|n| beta_geo_p_n(&p, 39.0, n as f64)).sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
}

/// Σ_{t>=n} S(t)/S(n−1) / (1+d)^(t−n) summed term by term (retention rates
/// (β+t−1)/(α+β+t−1)); the terms fall at least like (1/(1+d))^k, so stopping when a term is
/// below 1e-18 of the sum leaves a tail below 1e-18 · (1+d)/d of it.
fn derl_by_summation(al: f64, be: f64, renewals: f64, d: f64) -> f64 {
    let n = renewals + 1.0;
    let (mut total, mut cond, mut disc, mut t) = (0.0, 1.0, 1.0, n);
    loop {
        cond *= (be + t - 1.0) / (al + be + t - 1.0);
        let term = cond * disc;
        total += term;
        if term < 1e-18 * total {
            return total;
        }
        disc /= 1.0 + d;
        t += 1.0;
    }
}

#[test]
fn sbg_residual_lifetime_where_alpha_minus_one_is_near_an_integer() {
    // CI's hypothesis find: α = 2.00001 (c − a − b = α − 1 = 1.00001), β = 1, no renewals,
    // d = 0.0625 gave 0.7955028151813546 (3e-8 off) from the ₂F₁ connection formula.
    let got = sbg_residual_lifetime(&[2.00001, 1.0], 0.0, 0.0625).unwrap();
    let want = derl_by_summation(2.00001, 1.0, 0.0, 0.0625);
    assert!((want - 0.795_502_838_721_917_7).abs() < 1e-15);
    assert!((got - want).abs() < 1e-13 * want, "{got} vs {want}");
    for al in [
        1.0,
        1.0 + 1e-9,
        2.0 - 1e-7,
        3.0,
        3.00001,
        0.99999,
        5.0 + 1e-4,
    ] {
        for be in [0.3, 1.0, 4.7] {
            for renewals in [0.0, 1.0, 7.0, 30.0] {
                for d in [0.02, 0.0625, 0.1, 0.5] {
                    let got = sbg_residual_lifetime(&[al, be], renewals, d).unwrap();
                    let want = derl_by_summation(al, be, renewals, d);
                    assert!(
                        (got - want).abs() < 1e-12 * want,
                        "α {al} β {be} n {renewals} d {d}: {got} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn sbg_published_regular_cohort() {
    // Fader & Hardie (2007), "regular" customers: % surviving after years 0..7.
    let s = [1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0];
    let (t, c, w) = sbg_rows_from_survivors(&s).unwrap();
    let fit = fit_shifted_beta_geo(&t, &c, &w, None, &Options::default()).unwrap();
    assert!((fit.params[0] - 0.704).abs() < 5e-4, "{:?}", fit.params);
    assert!((fit.params[1] - 1.182).abs() < 5e-4, "{:?}", fit.params);
}

/// The donation data of Fader, Hardie & Shang (2010, "Customer-Base Analysis in a
/// Discrete-Time Noncontractual Setting", Marketing Science 29(6)): (x, t_x, donors) of the
/// 11,104 first-time donors of 1995 over the n = 6 opportunities 1996–2001, as in
/// tests/data/lifetimes/donations.csv.
const DONATIONS: [(f64, f64, f64); 22] = [
    (0.0, 0.0, 3464.0),
    (1.0, 1.0, 1091.0),
    (1.0, 2.0, 277.0),
    (1.0, 3.0, 129.0),
    (1.0, 4.0, 78.0),
    (1.0, 5.0, 119.0),
    (1.0, 6.0, 129.0),
    (2.0, 2.0, 613.0),
    (2.0, 3.0, 255.0),
    (2.0, 4.0, 155.0),
    (2.0, 5.0, 173.0),
    (2.0, 6.0, 234.0),
    (3.0, 3.0, 322.0),
    (3.0, 4.0, 181.0),
    (3.0, 5.0, 225.0),
    (3.0, 6.0, 357.0),
    (4.0, 4.0, 240.0),
    (4.0, 5.0, 284.0),
    (4.0, 6.0, 512.0),
    (5.0, 5.0, 335.0),
    (5.0, 6.0, 728.0),
    (6.0, 6.0, 1203.0),
];

#[test]
fn bgbb_published_donation_fit() {
    // The paper's MLE: α = 1.204, β = 0.750, γ = 0.657, δ = 2.783, LL = −33,225.6.
    let x: Vec<f64> = DONATIONS.iter().map(|r| r.0).collect();
    let tx: Vec<f64> = DONATIONS.iter().map(|r| r.1).collect();
    let w: Vec<f64> = DONATIONS.iter().map(|r| r.2).collect();
    let n = vec![6.0; x.len()];
    let d = collapse(&x, &tx, &n, Some(&w)).unwrap();
    assert_eq!(d.total_weight(), 11_104.0);
    let fit = fit_bgbb(&d, None, &Options::default()).unwrap();
    for (got, want) in fit.params.iter().zip([1.204, 0.750, 0.657, 2.783]) {
        assert!((got - want).abs() < 5e-4, "{:?}", fit.params);
    }
    assert!(
        (fit.log_likelihood - (-33_225.6)).abs() < 0.05,
        "{}",
        fit.log_likelihood
    );
    assert!(fit.std_errors.iter().all(|s| s.is_some_and(|s| s > 0.0)));
}

#[test]
fn bgbb_probabilities_of_every_history_sum_to_one() {
    // Over all (x, t_x) histories of n opportunities, weighted by the number of opportunity
    // sequences each stands for (C(t_x − 1, x − 1) for x > 0), the likelihoods sum to 1.
    let p = [1.204, 0.750, 0.657, 2.783];
    let n = 5.0;
    let choose =
        |a: f64, b: f64| (ln_gamma(a + 1.0) - ln_gamma(b + 1.0) - ln_gamma(a - b + 1.0)).exp();
    let mut total = bgbb_ll_one(&p, 0.0, 0.0, n).exp();
    for tx in 1..=5 {
        for x in 1..=tx {
            let (x, tx) = (x as f64, tx as f64);
            total += choose(tx - 1.0, x - 1.0) * bgbb_ll_one(&p, x, tx, n).exp();
        }
    }
    assert!((total - 1.0).abs() < 1e-12, "{total}");
    // E[X(n)] by its sum equals the closed form of the paper's eq. 9 (long horizon branch).
    let (a, b, g, dl) = (p[0], p[1], p[2], p[3]);
    let k = 20_000.0;
    let closed = a / (a + b) * dl / (g - 1.0)
        * (1.0
            - (ln_gamma(g + dl) + ln_gamma(1.0 + dl + k)
                - ln_gamma(g + dl + k)
                - ln_gamma(1.0 + dl))
            .exp());
    let mut sum = 0.0;
    let mut term = 1.0;
    for s in 1..=20_000 {
        let s = s as f64;
        term *= (dl + s - 1.0) / (g + dl + s - 1.0);
        sum += term;
    }
    assert!((bgbb_expected(&p, k) - closed).abs() < 1e-9 * closed);
    assert!((a / (a + b) * sum - closed).abs() < 1e-9 * closed);
}

#[test]
fn pareto_died_term_by_quadrature_matches_the_hypergeometric_form() {
    // Where both work, the death-time integral equals s/k · (F(t_x) − F(T)).
    for p in [
        [0.553, 10.578, 0.606, 11.669],
        [2.0, 3.0, 0.5, 1.5],
        [0.3, 8.0, 1.2, 4.0],
    ] {
        for (x, tx, t) in [(0.0, 0.0, 10.0), (3.0, 7.0, 10.0), (1.0, 2.0, 39.0)] {
            let (_, want) = pareto_terms(&p, x, tx, t).unwrap();
            let got = pareto_ln_died(&p, x, tx, t).unwrap();
            assert!(
                (got - want).abs() < 1e-10,
                "{p:?} {x} {tx} {t}: {got} vs {want}"
            );
        }
    }
}

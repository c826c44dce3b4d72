// Package stat turns exact window counts into drift decisions: the
// statistics, thresholds calibrated to a wall-clock false-alarm rate, the
// alarm state machine, dataset-level corrections, canary-vs-live helpers and
// the detection benchmark behind "driftcar bench drift".
//
// It is a pure library: it imports no HTTP, logging or metrics packages and
// does not depend on the sampler. Inputs are plain counts: a Reference per
// feature (cell proportions, reference size M, edges and moments) and, per
// window, a Window of exact counts in the same cell order plus the values
// outside the cells (numeric below/above the reference range, categorical
// unseen, missing, invalid). The sampler's Counts map onto Window directly:
// numeric bins → Cells, below-min/above-max → Below/Above; categorical
// dictionary + OTHER → Cells, UNSEEN → Unseen; missing/invalid → Missing and
// Invalid.
//
// # Binning
//
// Numeric features use B reference-quantile bins, so under "no drift" the
// window counts are multinomial with the reference proportions whatever the
// feature's distribution (the probability integral transform). Values below
// the reference minimum or above its maximum count in the first or last bin
// for the distribution tests and, separately, in the out-of-range rate.
// Categorical UNSEEN values count in the OTHER cell for the distribution
// tests and, separately, in the unseen rate.
//
// # Statistics
//
// All on exact counts (stats.go), allocation-free:
//   - binned KS: D = max over the B−1 cell boundaries of |F_cur − F_ref|;
//   - G-test and Pearson χ²: the two-sample 2×C contingency test of the
//     reference row p_ref·M and the window row, df = (non-zero columns) − 1.
//     All-zero columns are dropped (scipy rejects them: zero expected
//     frequency). It equals scipy.stats.chi2_contingency(...,
//     correction=False, lambda_="log-likelihood" | "pearson");
//   - PSI = Σ (a_i − e_i)·ln(a_i/e_i) with a_i = (c_i+0.5)/(n+0.5B) and
//     e_i = (M·p_i+0.5)/(M+0.5B); its threshold is (1/n + 1/M)·χ²_{B−1,1−α};
//   - Jensen–Shannon distance, base 2, with threshold
//     √(χ²_{B−1,1−α}/(8·ln2·n_e)), n_e = nM/(n+M) (second-order expansion);
//   - normalised Wasserstein from the edge CDFs:
//     Σ |F_cur(e_i) − F_ref(e_i)|·Δe_i / σ_ref, Δe_i = (e_{i+1} − e_{i−1})/2,
//     e_0 = Min, e_B = Max (reported, no threshold);
//   - L∞ = max |p_cur − p_ref| with the Bonferroni-normal threshold
//     z_{α/2C}·√(max p(1−p)·(1/n + 1/M));
//   - missing, invalid, out-of-range and unseen rates with an exact one-sided
//     binomial test against the reference rate (floored at 0.5/(M+1));
//     the out-of-range reference rate defaults to 2/(M+1), exact for a
//     continuous variable.
//
// p-values: χ² survival (gonum) for G, χ² and PSI/(1/n + 1/M). For binned
// KS, u = D/√(1/n + 1/M) is compared with the Brownian bridge at the edges,
// B(F_i) with σ_i = √(F_i(1−F_i)), through the Hunter–Worsley bound
// Σ_i P(|Z| > u/σ_i) − Σ_i P(|Z_i| > u/σ_i, |Z_{i+1}| > u/σ_{i+1}) with the
// bridge's correlation of neighbouring edges (bivariate normal by Simpson's
// rule): a valid upper bound on the asymptotic p-value, within 30% of it at
// the 5% level (checked by Monte Carlo in the tests) and below the Kolmogorov
// tail of the unbinned statistic. It is tabulated per feature on a u grid.
// Thresholds are therefore functions of the window's n (through 1/n + 1/M)
// and of the cell proportions (through F_i, max p(1−p) and the binomial
// rates). The binomial thresholds, which have no closed form, are tabulated
// on an n grid (powers of two) and interpolated in log n for reporting;
// decisions always use the exact binomial tail.
//
// # Calibration
//
// The false-alarm rate r (Options.FalseAlarmRate, "1/30d") is per feature in
// wall-clock time, and a false alarm is an entry into the drift state on a
// stationary stream. Every deciding test of every window breaches when its
// p-value is below one per-evaluation level α, found per feature class
// (numeric with B bins; categorical with the cell count rounded up to a
// power of two, whose sparser canonical cells make the level conservative
// for the smaller dictionaries) as follows.
//
//  1. Union bound. With τ the tick and K deciding tests × windows, any α ≤
//     r·τ/K keeps the expected number of breaching evaluations, and so of
//     alarms, at most r per unit time, whatever the overlap of the windows:
//     expectation is additive. This is the floor of α (Calibration.UnionAlpha).
//  2. Simulation (ERT style, in the spirit of Ross & Adams and alibi-detect's
//     conditional quantiles). Overlapping windows make breaches cluster: a
//     breach in the 1h window lasts many ticks, so r·τ/K is pessimistic. A
//     stationary multinomial stream of the class's canonical shape
//     (equiprobable bins; Zipf categories with OTHER last; every rate 1%)
//     runs on a virtual clock through the real slice ring (windows are sums
//     of the current and previous slices, as the sampler's) and the real
//     evaluation code, for up to Calibration.Ticks ticks (seeded PCG). For a
//     grid of levels α_j (8 per decade below 0.01) a copy of the real state
//     machine is fed the signal it would see at α_j, and its drift onsets are
//     counted: this measures the alarm rate per level, clustering and
//     confirmation included. The rate falls with α; α is where it meets
//     r/Safety (1.25), interpolated log-linearly between levels with at least
//     MinEvents onsets, or extrapolated below them with the log–log slope of
//     the two decades above (clamped to [0.5, 1]). Clusters shrink as the
//     level rises, so the true slope steepens toward 1 and the extrapolation
//     overstates the rate: it errs on the safe side. α = max(fit, floor).
//  3. n. The stream runs at 2·MinSamples values per shortest window: small
//     windows have the heaviest null tails (G-test, discrete binomials), and
//     simulation showed the alarm rate at a fixed α falling as n grows, so
//     one α fitted there is conservative for busier features. Thresholds
//     then scale with n in closed form (see Statistics).
//
// Why this holds for overlapping windows: step 1 needs no independence at
// all, and step 2 measures the onset rate of the actual decision process,
// whose dependence between ticks comes only from the window geometry
// (slices, tick, window lengths) and not from the feature's distribution,
// because the null is distribution-free. At the defaults (1/30d, 10 s ticks,
// 5m and 1h windows) α ≈ 1.9·10⁻⁶ for numeric (B = 20) and 1.6·10⁻⁶ for
// categorical (16-cell class) features, 4–6× the union floor (3.2·10⁻⁷ and
// 3.9·10⁻⁷). Verified on stationary streams through the full detector
// (TestCalibrationLong, DRIFTCAR_LONG=1), observed/configured: 0.68 (1/6h),
// 0.63 and 0.58 (1/1d at 5 and 30 rows/s), 0.30 (1/7d) and 0.40 (1/30d with
// the default windows at the simulated traffic; 95% upper bound 0.79); at
// 50 rows/s, 0 alarms in 200 feature-days (TestRunBenchLong).
//
// Cost: calibration runs once per class, on first use, cached by the
// Calibrator; about 2–5 µs per simulated tick, so 0.5–1 s per class with
// the default budget of 200000 ticks (BenchmarkCalibration). A feature then
// costs a few milliseconds to build (KS tail table, binomial n grid), and a
// tick over 20 features × 2 windows about 130 µs with every p-value, 46 µs
// with LazyPValues, without allocating (BenchmarkTick).
//
// # Alarm state machine
//
// Machine (state.go) is pure and deterministic given its inputs and the
// injected time. Each evaluation gives a Signal from the lowest deciding
// p-value m over the tested windows: strong (m < α·StrongRatio), breach
// (m < α), near (m < α·WarnRatio), clean (every window tested, nothing
// near) or insufficient (a window has fewer than MinSamples values). A
// strong breach or Confirm consecutive breaches enter drift; a breach or
// near breach outside drift is a warning; drift ends after Recover
// consecutive clean evaluations; a feature with a window below MinSamples is
// never ok. Each state change yields an Event with the strongest evidence.
//
// # Concurrency and ownership
//
//   - Calibrator is safe for concurrent use; it simulates each class once.
//   - A Feature is owned by one goroutine (the detector ticker): Evaluate is
//     not safe for concurrent use, and the Evaluation it returns is
//     overwritten by the next call. Windows passed in are only read, during
//     the call. Evaluate does not allocate.
//   - A Dataset reuses its buffers: one goroutine.
//   - The statistics (Contingency, BinnedKS, PSI, ...), ParseRate, the
//     corrections and the canary helpers are pure and safe for concurrent use.
//   - RunBench runs on the caller's goroutine. The package starts no
//     goroutines.
package stat

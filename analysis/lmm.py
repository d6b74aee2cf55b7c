"""A linear mixed model with one random intercept per subject, fitted as lme4 and
lmerTest fit it: ``lmer(y ~ X + (1 | subject), REML = TRUE)`` with Satterthwaite
denominator degrees of freedom.

Why our own and not statsmodels' MixedLM: for a random intercept the REML likelihood has
closed-form pieces per subject, so the fit reduces to a one-dimensional search over
theta = sigma_b / sigma that can be checked on a grid; MixedLM's general optimiser
stopped at the boundary with a worse likelihood, took its standard errors from the joint
Hessian instead of lme4's ``vcov()``, failed on an empty group x time cell and took 30 s
at 1,000 animals. What is reproduced, and where it comes from:

* the profiled REML criterion of lme4 (Bates et al. 2015, JSS 67(1), eq. 34 and 41:
  ``ldL2 + ldRX2 + (n - p) (1 + log(2 pi pwrss / (n - p)))``). For a random intercept,
  V_i = sigma^2 (I + theta^2 J), so log|L|^2 = sum log(1 + n_i theta^2) and
  X'V^-1 X sigma^2 = X'X - sum c_i s_i s_i' with c_i = theta^2 / (1 + n_i theta^2) and
  s_i the column sums of subject i (Sherman-Morrison per subject);
* fixed effects by GLS and ``vcov(beta) = sigma^2 (X'V^-1 X)^-1`` at the optimum, as
  lme4's ``vcov.merMod``;
* aliased fixed-effect columns dropped as ``lme4:::chkRank.drop.cols`` does (R's LINPACK
  ``qr(X, tol = 1e-7)``: a column whose norm, after removing the columns kept before it,
  falls below tol times its own norm is dropped; the rest keep their order);
* Satterthwaite's degrees of freedom as lmerTest 3.1 (R/lmer.R ``as_lmerModLT``,
  R/contest.R ``contest1D`` / ``contestMD``, ``get_Fstat_ddf``): variance parameters
  (theta, sigma), their covariance ``2 * H^-1`` from the Hessian of the REML deviance
  (Moore-Penrose inverse over eigenvalues > 1e-8), and the gradient of
  ``L' vcov(beta) L`` with respect to them (here in closed form).

This module is pure numpy/scipy: no pandas, no Django. It must not decide what is
compared (``analysis.stats`` and ``analysis.emm`` do).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from scipy import stats as sstats
from scipy.linalg import cho_solve

RANK_TOL = 1e-7  # lme4's chkRank.drop.cols default
EIGEN_TOL = 1e-8  # lmerTest's as_lmerModLT default
# theta = sigma_b / sigma; a grid over 14 decades finds the basin of the global optimum.
THETA_GRID = np.concatenate([[0.0], np.geomspace(1e-4, 1e4, 113)])


@dataclass(frozen=True)
class Contrast:
    """One linear combination L'beta tested as lmerTest's ``contest1D`` does."""

    estimate: float
    se: float
    df: float
    t: float
    p: float
    method: str  # "Satterthwaite" or, when its df cannot be computed, "Wald z"


@dataclass(frozen=True)
class FTest:
    """A multi-row contrast tested as lmerTest's ``contestMD`` does."""

    f: float
    ndf: int
    ddf: float
    p: float
    method: str


@dataclass(frozen=True)
class LmmFit:
    names: list[str]  # kept fixed-effect columns, in design order
    dropped: list[str]  # aliased columns lme4 would drop
    beta: np.ndarray
    vcov: np.ndarray  # lme4's vcov(): sigma^2 (X'V^-1 X)^-1
    theta: float  # sigma_b / sigma at the REML optimum
    sigma: float
    reml_criterion: float  # lme4's "REML criterion at convergence"
    n_obs: int
    n_groups: int
    vcov_varpar: np.ndarray  # 2 x 2, for (theta, sigma)
    jacobian: np.ndarray  # 2 x p x p: d vcov(beta) / d (theta, sigma)
    all_names: list[str] = field(default_factory=list)  # every column, dropped or not
    nonest: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # null space of X
    hessian_note: str = ""

    @property
    def group_variance(self) -> float:
        return (self.theta * self.sigma) ** 2

    @property
    def residual_variance(self) -> float:
        return self.sigma**2

    @property
    def singular(self) -> bool:
        """lme4's isSingular(): the between-subject variance is estimated at 0."""
        return self.theta < 1e-4

    def coef(self, name: str) -> float:
        return float(self.beta[self.names.index(name)])

    def se(self, name: str) -> float:
        i = self.names.index(name)
        return math.sqrt(float(self.vcov[i, i]))

    def vector(self, weights: dict[str, float]) -> np.ndarray:
        """A contrast vector over the kept columns from {column name: weight}; a dropped
        (aliased) column counts as 0, as lme4's coefficient NA does in emmeans."""
        L = np.zeros(len(self.names))
        for name, weight in weights.items():
            if name in self.dropped:
                continue
            L[self.names.index(name)] += weight
        return L

    def estimable(self, weights: dict[str, float], tol: float = 1e-8) -> bool:
        """Is sum(weight x coefficient) estimable? As estimability::is.estimable (which
        emmeans uses): the full-length vector must be orthogonal to the null space of X,
        within tol relative to its size."""
        if self.nonest.size == 0:
            return True
        L = np.zeros(len(self.all_names))
        for name, weight in weights.items():
            L[self.all_names.index(name)] += weight
        size = max(1.0, float(np.linalg.norm(L)))
        return bool(np.all(np.abs(L @ self.nonest) <= tol * size))

    def _satterthwaite_df(self, L: np.ndarray, var: float) -> float:
        grad = np.array([L @ J @ L for J in self.jacobian])
        denom = float(grad @ self.vcov_varpar @ grad)
        if not np.isfinite(denom) or denom <= 0:
            return math.nan
        return 2 * var**2 / denom

    def contrast(self, L: Sequence[float]) -> Contrast:
        L = np.asarray(L, dtype=float)
        estimate = float(L @ self.beta)
        var = float(L @ self.vcov @ L)
        se = math.sqrt(var) if var > 0 else math.nan
        t = estimate / se if se > 0 else math.nan
        df = self._satterthwaite_df(L, var)
        if np.isfinite(df):
            p = float(2 * sstats.t.sf(abs(t), df)) if np.isfinite(t) else math.nan
            return Contrast(estimate, se, df, t, p, "Satterthwaite")
        p = float(2 * sstats.norm.sf(abs(t))) if np.isfinite(t) else math.nan
        return Contrast(estimate, se, math.inf, t, p, "Wald z")

    def ftest(self, L: np.ndarray) -> FTest:
        L = np.atleast_2d(np.asarray(L, dtype=float))
        if L.shape[0] == 1:
            c = self.contrast(L[0])
            return FTest(c.t**2, 1, c.df, _f_sf(c.t**2, 1, c.df), c.method)
        values, vectors = np.linalg.eigh(L @ self.vcov @ L.T)
        order = np.argsort(values)[::-1]
        values, vectors = values[order], vectors[:, order]
        tol = max(math.sqrt(np.finfo(float).eps) * values[0], 0.0)
        q = int(np.sum(values > tol))
        if q == 0:
            return FTest(math.nan, 0, math.nan, math.nan, "Satterthwaite")
        PtL = (vectors.T @ L)[:q]
        if q == 1:
            c = self.contrast(PtL[0])
            return FTest(c.t**2, 1, c.df, _f_sf(c.t**2, 1, c.df), c.method)
        t2 = (PtL @ self.beta) ** 2 / values[:q]
        f = float(t2.sum() / q)
        nu = np.array([self._satterthwaite_df(PtL[m], values[m]) for m in range(q)])
        if not np.all(np.isfinite(nu)):
            return FTest(f, q, math.inf, float(sstats.chi2.sf(f * q, q)), "Wald chi-squared")
        ddf = _fstat_ddf(nu)
        return FTest(f, q, ddf, _f_sf(f, q, ddf), "Satterthwaite")


def _f_sf(f: float, ndf: float, ddf: float) -> float:
    if not np.isfinite(f):
        return math.nan
    if math.isinf(ddf):
        return float(sstats.chi2.sf(f * ndf, ndf))
    return float(sstats.f.sf(f, ndf, ddf))


def _fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's get_Fstat_ddf."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    e = float(np.sum(nu / (nu - 2)))
    return 2 * e / (e - len(nu))


# ------------------------------------------------------------------------ design


def keep_full_rank(X: np.ndarray, tol: float = RANK_TOL) -> list[int]:
    """Indices of the columns R's LINPACK ``qr(X, tol)`` keeps, in their order.

    dqrdc2 moves a column to the end when its norm, after the Householder steps of the
    columns kept before it, is below ``tol`` times its original norm, i.e. when its
    residual on those columns is that small; a moved column takes no part in later steps.
    Residuals and norms depend on X only through X'X, so the distinct rows weighted by
    the square root of their counts give the same answer (a design of cells has few).
    """
    if X.shape[1] == 0:
        return []
    rows, counts = np.unique(X, axis=0, return_counts=True)
    Xw = rows * np.sqrt(counts)[:, None]
    kept: list[int] = []
    basis = np.zeros((Xw.shape[0], 0))
    for j in range(Xw.shape[1]):
        column = Xw[:, j]
        norm = float(np.linalg.norm(column))
        if norm == 0:
            continue
        residual = column - basis @ (basis.T @ column)
        residual -= basis @ (basis.T @ residual)  # orthogonalise twice: enough in floating point
        r = float(np.linalg.norm(residual))
        if r > tol * norm:
            kept.append(j)
            basis = np.column_stack([basis, residual / r])
    return kept


# --------------------------------------------------------------------------- fit


class _Pieces:
    """Per-subject sums: everything the REML criterion needs.

    Subjects with the same number of values share c_i, so the sums over subjects are
    kept per distinct n_i (at most the number of timepoints): one evaluation of the
    criterion then costs O(distinct n x p^2), whatever the number of animals.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, codes: np.ndarray, m: int):
        self.N, self.p = X.shape
        self.n = np.bincount(codes, minlength=m).astype(float)
        S = np.column_stack(
            [np.bincount(codes, weights=X[:, j], minlength=m) for j in range(self.p)]
        ).reshape(m, self.p)
        T = np.bincount(codes, weights=y, minlength=m)
        self.sizes = np.unique(self.n)
        self.M = np.stack([S[self.n == k].T @ S[self.n == k] for k in self.sizes])
        self.ST = np.stack([S[self.n == k].T @ T[self.n == k] for k in self.sizes])
        self.TT = np.array([float(T[self.n == k] @ T[self.n == k]) for k in self.sizes])
        self.XtX = X.T @ X
        self.Xty = X.T @ y
        self.yty = float(y @ y)

    def c(self, theta: float) -> np.ndarray:
        """theta^2 / (1 + n theta^2) for each distinct n."""
        t2 = theta * theta
        return t2 / (1 + self.sizes * t2)

    def solve(self, theta: float):
        """(W = sigma^2 X'V^-1X, its Cholesky factor, beta, penalised RSS)."""
        c = self.c(theta)
        W = self.XtX - np.tensordot(c, self.M, axes=1)
        b = self.Xty - c @ self.ST
        chol = np.linalg.cholesky(W)
        beta = _chol_solve(chol, b)
        rss = self.yty - float(c @ self.TT) - float(b @ beta)
        return W, chol, beta, max(rss, 0.0)

    def profiled(self, theta: float) -> float:
        """lme4's REML criterion (deviance) with sigma and beta profiled out."""
        try:
            _, chol, _, rss = self.solve(theta)
        except np.linalg.LinAlgError:
            return math.inf
        if rss <= 0:
            return -math.inf if rss == 0 else math.inf
        dof = self.N - self.p
        ld_l2 = float(np.sum(np.log1p(self.n * theta * theta)))
        ld_rx2 = 2 * float(np.sum(np.log(np.diag(chol))))
        return ld_l2 + ld_rx2 + dof * (1 + math.log(2 * math.pi * rss / dof))

    def deviance(self, theta: float, sigma: float) -> float:
        """REML deviance as a function of (theta, sigma): lmerTest's devfun_vp."""
        _, chol, _, rss = self.solve(theta)
        ld_l2 = float(np.sum(np.log1p(self.n * theta * theta)))
        ld_rx2 = 2 * float(np.sum(np.log(np.diag(chol))))
        s2 = sigma * sigma
        return ld_l2 + ld_rx2 + rss / s2 + (self.N - self.p) * math.log(2 * math.pi * s2)


def _chol_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cho_solve((chol, True), b, check_finite=False)


def _optimum(pieces: _Pieces) -> tuple[float, float]:
    """Global minimum of the profiled REML criterion over theta >= 0.

    The criterion is evaluated on a grid over fourteen decades (and at 0, the boundary);
    Brent's bounded search then polishes every local minimum of the grid, and the best
    of them wins. A fit at 0 is kept only if nothing inside beats it, as lme4 reports a
    singular fit only at the optimum.
    """
    values = np.array([pieces.profiled(t) for t in THETA_GRID])
    candidates = [(float(values[0]), 0.0)]
    for i in range(1, len(THETA_GRID)):
        left = values[i - 1]
        right = values[i + 1] if i + 1 < len(THETA_GRID) else math.inf
        if values[i] <= left and values[i] <= right and np.isfinite(values[i]):
            lo = THETA_GRID[i - 1]
            hi = THETA_GRID[i + 1] if i + 1 < len(THETA_GRID) else THETA_GRID[i] * 10
            res = optimize.minimize_scalar(
                pieces.profiled,
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": 1e-10 * max(1.0, THETA_GRID[i]), "maxiter": 500},
            )
            best = (float(res.fun), float(res.x))
            if values[i] < best[0]:
                best = (float(values[i]), float(THETA_GRID[i]))
            candidates.append(best)
    value, theta = min(candidates)
    return theta, value


def _hessian(func, x: np.ndarray, d: float = 0.1, eps: float = 1e-4, r: int = 4) -> np.ndarray:
    """numDeriv::hessian (Richardson extrapolation, genD defaults d = 0.1, eps = 1e-4,
    r = 4, v = 2), which lmerTest uses on the REML deviance."""
    n = len(x)
    zero_tol = math.sqrt(np.finfo(float).eps / 7e-7)
    h0 = np.abs(d * x) + eps * (np.abs(x) < zero_tol)
    f0 = func(x)
    H = np.zeros((n, n))
    diag = np.zeros(n)

    def richardson(values: list[float]) -> float:
        a = list(values)
        for m in range(1, r):
            a = [(a[k + 1] * 4**m - a[k]) / (4**m - 1) for k in range(r - m)]
        return a[0]

    for i in range(n):
        h = h0.copy()
        approx = []
        for _ in range(r):
            e = np.zeros(n)
            e[i] = h[i]
            approx.append((func(x + e) - 2 * f0 + func(x - e)) / h[i] ** 2)
            h = h / 2
        diag[i] = richardson(approx)
        H[i, i] = diag[i]
    for i in range(n):
        for j in range(i):
            h = h0.copy()
            approx = []
            for _ in range(r):
                e = np.zeros(n)
                e[i], e[j] = h[i], h[j]
                f1, f2 = func(x + e), func(x - e)
                approx.append(
                    (f1 - 2 * f0 + f2 - diag[i] * h[i] ** 2 - diag[j] * h[j] ** 2)
                    / (2 * h[i] * h[j])
                )
                h = h / 2
            H[i, j] = H[j, i] = richardson(approx)
    return H


def fit_lmm(
    y: Sequence[float],
    X: np.ndarray,
    subjects: Sequence,
    names: Sequence[str],
) -> LmmFit:
    """REML fit of y = X beta + b_subject + e, b ~ N(0, sigma_b^2), e ~ N(0, sigma^2).

    Rows with a missing y must be removed by the caller. Aliased columns of X are dropped
    (``LmmFit.dropped`` names them), as lme4 does by default.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    names = list(names)
    if X.ndim != 2 or X.shape[0] != len(y) or X.shape[1] != len(names):
        raise ValueError("X must have one row per value and one column per name")
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite (drop missing values first)")
    _, codes = np.unique(np.asarray(subjects, dtype=object).astype(str), return_inverse=True)
    m = int(codes.max()) + 1 if len(codes) else 0
    all_names = list(names)
    kept = keep_full_rank(X)
    dropped = [names[j] for j in range(len(names)) if j not in kept]
    nonest = _null_space(X) if dropped else np.zeros((len(names), 0))
    X = X[:, kept]
    names = [names[j] for j in kept]
    if len(y) - len(kept) < 1:
        raise ValueError("too few values for the model: no residual degrees of freedom")
    pieces = _Pieces(y, X, codes, m)
    theta, criterion = _optimum(pieces)
    W, chol, beta, rss = pieces.solve(theta)
    dof = pieces.N - pieces.p
    sigma = math.sqrt(rss / dof)
    if sigma == 0:
        raise ValueError("the model fits every value exactly: no residual variation")
    W_inv = _chol_solve(chol, np.eye(pieces.p))
    vcov = sigma**2 * W_inv

    # Satterthwaite pieces. lmerTest differentiates numerically; the Jacobian of
    # vcov(beta) = sigma^2 W(theta)^-1 is exact here:
    # d/dtheta = sigma^2 W^-1 (sum_i dc_i/dtheta s_i s_i') W^-1, d/dsigma = 2 sigma W^-1.
    dc = 2 * theta / (1 + pieces.sizes * theta * theta) ** 2
    jac_theta = sigma**2 * W_inv @ np.tensordot(dc, pieces.M, axes=1) @ W_inv
    jacobian = np.stack([jac_theta, 2 * sigma * W_inv])
    H = _hessian(lambda v: pieces.deviance(abs(v[0]), v[1]), np.array([theta, sigma]))
    evals, evecs = np.linalg.eigh(H)
    note = ""
    if np.any(evals < -EIGEN_TOL):
        note = "REML Hessian has a negative eigenvalue (as lmerTest warns)"
    elif np.any(np.abs(evals) <= EIGEN_TOL):
        note = "REML Hessian has an eigenvalue close to zero (as lmerTest warns)"
    pos = evals > EIGEN_TOL
    h_inv = (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    return LmmFit(
        names=names,
        dropped=dropped,
        beta=beta,
        vcov=vcov,
        theta=theta,
        sigma=sigma,
        reml_criterion=criterion,
        n_obs=pieces.N,
        n_groups=m,
        vcov_varpar=2 * h_inv,
        jacobian=jacobian,
        all_names=all_names,
        nonest=nonest,
        hessian_note=note,
    )


def _null_space(X: np.ndarray) -> np.ndarray:
    """Orthonormal basis of {b : X b = 0}, from the SVD of X'X (p x p, so cheap)."""
    scale = np.sqrt(np.maximum(np.diag(X.T @ X), 1e-300))
    u, s, vt = np.linalg.svd((X / scale).T @ (X / scale))
    rank = int(np.sum(s > s[0] * 1e-12)) if len(s) else 0
    basis = vt[rank:].T / scale[:, None]  # back to the unscaled coefficients
    q, _ = np.linalg.qr(basis) if basis.size else (basis, None)
    return q


def treatment_design(
    columns: dict[str, Sequence],
    levels: dict[str, Sequence[str]],
    *,
    interaction: bool = True,
) -> tuple[np.ndarray, list[str]]:
    """R's ``model.matrix(~ a * b)`` with treatment contrasts: an intercept, one column
    per non-reference level of each factor (the first level in ``levels`` is the
    reference), and, for two factors with ``interaction``, their products. Columns are
    named as R names them ("(Intercept)", "aB", "aB:bT2").

    Only factors are supported (no numeric covariates); at most two of them.
    """
    factors = list(columns)
    if not 1 <= len(factors) <= 2:
        raise ValueError("one or two factors")
    n = len(next(iter(columns.values())))
    blocks: list[tuple[list[str], np.ndarray]] = []
    for factor in factors:
        values = np.asarray(columns[factor], dtype=object).astype(str)
        order = [str(v) for v in levels[factor]]
        unknown = set(values) - set(order)
        if unknown:
            raise ValueError(f"{factor} has a level not in its list: {sorted(unknown)[0]}")
        names = [f"{factor}{level}" for level in order[1:]]
        block = np.column_stack([values == level for level in order[1:]]).astype(float)
        blocks.append((names, block.reshape(n, len(order) - 1)))
    cols = [np.ones(n)]
    names = ["(Intercept)"]
    for block_names, block in blocks:
        names.extend(block_names)
        cols.extend(block.T)
    if interaction and len(blocks) == 2:
        (names_a, a), (names_b, b) = blocks
        for j, name_b in enumerate(names_b):
            for i, name_a in enumerate(names_a):
                names.append(f"{name_a}:{name_b}")
                cols.append(a[:, i] * b[:, j])
    return np.column_stack(cols), names

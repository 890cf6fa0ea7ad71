#!/usr/bin/python3
"""Reference values for the sequential SRM test in tests/unit/test_stats_srm.c.

ln BF of a Dirichlet(c * theta) mixture of multinomials against the fixed
multinomial theta = w / sum(w) (Lindon & Malek, NeurIPS 2022):

  ln BF = lnG(c) - lnG(c + N) + sum_i [lnG(c theta_i + n_i) - lnG(c theta_i)
                                       - n_i ln theta_i]

computed with mpmath's loggamma at 40 digits, and checked against the
definition itself for small counts: the marginal likelihood of the counts
under the Dirichlet prior, integrated numerically over the simplex (k = 2:
mpmath quad of the Beta mixture), divided by the multinomial likelihood.
Run: /usr/bin/python3 tests/vectors/stats/srm_bf.py > tests/vectors/stats/srm_bf.txt
"""
import mpmath as mp

mp.mp.dps = 40


def log_bf(n, w, c):
    W = sum(mp.mpf(x) for x in w)
    th = [mp.mpf(x) / W for x in w]
    N = sum(n)
    c = mp.mpf(c)
    l = mp.loggamma(c) - mp.loggamma(c + N)
    for ni, t in zip(n, th):
        l += mp.loggamma(c * t + ni) - mp.loggamma(c * t) - ni * mp.log(t)
    return l


def log_bf_by_integration(n, w, c):
    """k = 2: integral of Beta(c t0, c t1) density * p^n0 (1-p)^n1 over p,
    divided by t0^n0 t1^n1 (the binomial coefficient cancels)."""
    t0 = mp.mpf(w[0]) / (w[0] + w[1])
    t1 = 1 - t0
    a, b = c * t0, c * t1
    lnB = mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(a + b)
    f = lambda p: mp.exp((a + n[0] - 1) * mp.log(p) + (b + n[1] - 1) * mp.log1p(-p) - lnB)
    A, B = a + n[0], b + n[1]
    m = A / (A + B)
    sd = mp.sqrt(A * B / ((A + B) ** 2 * (A + B + 1)))
    pts = [mp.mpf(0)] + [m + j * sd for j in range(-30, 31) if 0 < m + j * sd < 1] + [mp.mpf(1)]
    marg = mp.quad(f, pts)
    return mp.log(marg) - n[0] * mp.log(t0) - n[1] * mp.log(t1)


print(f"# mpmath {mp.__version__}, 40 digits")
cases = [
    ([600, 400], [1, 1], 1000),
    ([510, 490], [1, 1], 1000),
    ([600, 400], [1, 1], 1),
    ([2000, 1900, 2100], [1, 1, 1], 1000),
    ([40000, 20000, 20000], [2, 1, 1], 1000),
    ([30000, 30000, 27000], [1, 1, 1], 1000),
    ([60300, 59700, 60000], [1, 1, 1], 1000),
    ([34000000, 33000000, 33000000], [1, 1, 1], 1000),
    ([0, 5], [1, 1], 1000),
]
for n, w, c in cases:
    print(f"log_bf n={n} w={w} c={c} {float(log_bf(n, w, c))!r}")
for n, w, c in [([600, 400], [1, 1], 1000), ([13, 2], [3, 1], 10), ([510, 490], [1, 1], 1)]:
    print(f"check by integration n={n} w={w} c={c} formula {float(log_bf(n, w, c))!r} "
          f"integral {float(log_bf_by_integration(n, w, c))!r}")

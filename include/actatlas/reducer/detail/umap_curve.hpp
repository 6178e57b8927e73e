/// @file reducer/detail/umap_curve.hpp
/// UMAP's low-dimensional similarity 1 / (1 + a·d^(2b)), with a and b fitted to the
/// target curve "1 up to min_dist, then exp(−(d − min_dist)/spread)" on 300 points of
/// [0, 3·spread], by least squares (Levenberg–Marquardt, started at a = b = 1 as
/// scipy's curve_fit in umap-learn). min_dist 0.1, spread 1 gives a ≈ 1.577, b ≈ 0.895.
#pragma once

#include <cmath>
#include <utility>

namespace actatlas::detail {

inline std::pair<double, double> fit_umap_ab(double min_dist, double spread) {
  constexpr int points = 300;
  double xs[points], ys[points];
  for (int i = 0; i < points; ++i) {
    xs[i] = 3.0 * spread * i / (points - 1);
    ys[i] = xs[i] < min_dist ? 1.0 : std::exp(-(xs[i] - min_dist) / spread);
  }
  auto residual_sum = [&](double a, double b) {
    double s = 0;
    for (int i = 0; i < points; ++i) {
      const double f = 1.0 / (1.0 + a * std::pow(xs[i], 2 * b));
      s += (f - ys[i]) * (f - ys[i]);
    }
    return s;
  };
  double a = 1, b = 1, lambda = 1e-3;
  double cost = residual_sum(a, b);
  for (int iter = 0; iter < 500; ++iter) {
    // normal equations J^T J δ = −J^T r for the two parameters
    double jaa = 0, jab = 0, jbb = 0, ga = 0, gb = 0;
    for (int i = 0; i < points; ++i) {
      const double x = xs[i];
      const double p = x > 0 ? std::pow(x, 2 * b) : 0.0;
      const double den = 1.0 + a * p;
      const double f = 1.0 / den;
      const double r = f - ys[i];
      const double dfa = -p / (den * den);
      const double dfb = x > 0 ? -a * p * 2.0 * std::log(x) / (den * den) : 0.0;
      jaa += dfa * dfa;
      jab += dfa * dfb;
      jbb += dfb * dfb;
      ga += dfa * r;
      gb += dfb * r;
    }
    bool improved = false;
    for (int tries = 0; tries < 30 && !improved; ++tries) {
      const double maa = jaa * (1 + lambda), mbb = jbb * (1 + lambda);
      const double det = maa * mbb - jab * jab;
      if (det == 0) break;
      const double da = -(mbb * ga - jab * gb) / det;
      const double db = -(maa * gb - jab * ga) / det;
      const double na = a + da, nb = b + db;
      const double nc = (na > 0 && nb > 0) ? residual_sum(na, nb) : INFINITY;
      if (nc < cost) {
        const bool converged = std::abs(da) < 1e-12 * (1 + a) && std::abs(db) < 1e-12 * (1 + b);
        a = na;
        b = nb;
        const double old = cost;
        cost = nc;
        lambda = std::max(lambda / 10, 1e-12);
        improved = true;
        if (converged || old - nc < 1e-15 * old) return {a, b};
      } else {
        lambda *= 10;
      }
    }
    if (!improved) break;
  }
  return {a, b};
}

}  // namespace actatlas::detail

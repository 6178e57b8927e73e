// The rendering options shared by `render`, `atlas` and `demo`, read from the command line.
#pragma once

#include <actatlas/objective/article_cossim.hpp>
#include <actatlas/objective/cossim_dot.hpp>
#include <actatlas/objective/dot.hpp>
#include <actatlas/progress.hpp>
#include <actatlas/torch/render_atlas.hpp>

#include <memory>
#include <set>
#include <string>

#include "cli.hpp"

#define ACTATLAS_RENDER_OPTIONS_HELP \
  "  --grid G           cells per side at the coarsest level (20)\n" \
  "  --levels L         zoom levels G, 2G, 4G, … (1)\n" \
  "  --min-count K      cells with fewer samples get no icon (3)\n" \
  "  --icon-size P      icon side in pixels (80)\n" \
  "  --steps S          optimisation steps per icon (1024, the article's)\n" \
  "  --attempts A       restarts, the best kept (4, the article's)\n" \
  "  --icon-batch B     icons optimised together (32)\n" \
  "  --objective O      cossim (lucid's dot·max(0.1,cos)^4, default) | dot | article\n" \
  "  --no-whiten        do not whiten directions (advisable for very early layers)\n" \
  "  --cell-px P        pixels per cell in atlas.png (80)\n" \
  "  --sizing S         icon size by density: density (√, the article's) | log | full\n" \
  "  --seed N           random seed of the icons (0)\n" \
  "  --device D         auto | cpu | cuda\n"

inline std::set<std::string> render_flags() { return {"no-whiten", "force"}; }

inline actatlas::render_atlas_options read_render_options(const cli::args& a) {
  actatlas::render_atlas_options o;
  o.grid = a.number<std::size_t>("grid", 20);
  o.levels = a.number<std::size_t>("levels", 1);
  o.min_count = a.number<std::size_t>("min-count", 3);
  o.icons.size = a.number<std::int64_t>("icon-size", 80);
  o.icons.steps = a.number<std::int64_t>("steps", 1024);
  o.icons.attempts = a.number<std::int64_t>("attempts", 4);
  o.icons.seed = a.number<std::uint64_t>("seed", 0);
  o.icon_batch = a.number<std::size_t>("icon-batch", 32);
  o.whiten = !a.flag("no-whiten");
  o.canvas.cell_px = a.number<int>("cell-px", 80);
  const std::string sizing = a.str("sizing", "density");
  if (sizing == "density") o.canvas.sizing = actatlas::render::icon_sizing::density;
  else if (sizing == "log") o.canvas.sizing = actatlas::render::icon_sizing::log_density;
  else if (sizing == "full") o.canvas.sizing = actatlas::render::icon_sizing::full;
  else throw cli::usage_error("render: --sizing must be density, log or full, got '" + sizing + "'");
  if (const auto obj = a.str("objective", "cossim"); obj != "cossim" && obj != "dot" && obj != "article")
    throw cli::usage_error("--objective must be cossim, dot or article, got '" + obj + "'");
  if (o.grid < 1 || o.grid > 4096) throw cli::usage_error("--grid must be between 1 and 4096");
  if (o.levels < 1 || o.levels > 6) throw cli::usage_error("--levels must be between 1 and 6");
  if (o.icons.steps < 1 || o.icons.attempts < 1) throw cli::usage_error("--steps and --attempts must be at least 1");
  if (o.icons.size < 8) throw cli::usage_error("--icon-size must be at least 8");
  o.progress = actatlas::progress_bar{};
  return o;
}

//! Runs render_atlas with the objective named by --objective.
inline actatlas::render_atlas_result render_with_objective(actatlas::classifier& model, const std::filesystem::path& run,
                                                           const std::filesystem::path& out,
                                                           const actatlas::render_atlas_options& o, const cli::args& a) {
  const std::string name = a.str("objective", "cossim");
  if (name == "cossim") return actatlas::render_atlas(model, run, out, actatlas::objective::cossim_dot<4>{}, o);
  if (name == "dot") return actatlas::render_atlas(model, run, out, actatlas::objective::dot{}, o);
  if (name == "article") return actatlas::render_atlas(model, run, out, actatlas::objective::article_cossim<4>{}, o);
  throw cli::usage_error("--objective must be cossim, dot or article, got '" + name + "'");
}

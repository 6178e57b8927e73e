// actatlas class-atlas: the article's class activation atlas of one class, from a
// collection folder (with attributions): filter → t-SNE (or UMAP) → 8×8 grid → icons.
#include <actatlas/experiments/class_names.hpp>
#include <actatlas/objective/article_cossim.hpp>
#include <actatlas/objective/cossim_dot.hpp>
#include <actatlas/objective/dot.hpp>
#include <actatlas/torch/class_atlas.hpp>
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/models.hpp>

#include <cstdio>

#include "cli.hpp"
#include "render_args.hpp"

namespace {

const char* usage = R"(actatlas class-atlas --model M --run DIR --class C [options]

The class activation atlas of class C: only the samples that support C, laid out on
their own and rendered on a small grid (the article's "Further Isolating Classes").

  --model M          the model the activations came from
  --run DIR          a collection folder with attributions (actatlas collect)
  --class C          the class, by name (as the model lists it) or logit index
  --filter F         rank (largest attribution is to C; default) | magnitude (top N
                     by attribution to C) | both (rank, then the top N of those)
  --top-n N          N for magnitude and both (2000)
  --reducer R        tsne (default; lucid's class settings: perplexity 50, cosine) | umap
  --out DIR          the atlas folder (default class-atlas-C); the kept samples and
                     their layout go to DIR/run, for `actatlas render --run DIR/run`
)" ACTATLAS_RENDER_OPTIONS_HELP R"(
The grid defaults to 8 here.)";

template <class Objective>
actatlas::class_atlas_result run_with(actatlas::classifier& model, const std::filesystem::path& run,
                                      const std::filesystem::path& out, const Objective& objective,
                                      const actatlas::class_atlas_options& o) {
  return actatlas::class_atlas(model, run, out, objective, o);
}

int run_class_atlas(const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  bool has_grid = false;
  for (const auto& s : argv) has_grid = has_grid || s == "--grid" || s.rfind("--grid=", 0) == 0;
  if (!has_grid) args.insert(args.end(), {"--grid", "8"});
  cli::args a("class-atlas", args, render_flags());
  const std::filesystem::path run = a.str("run");
  const std::string model_path = a.str("model");
  const std::string cls = a.str("class");
  const std::string filter = a.str("filter", "rank");
  const auto top_n = a.number<std::size_t>("top-n", 2000);
  const std::string reducer = a.str("reducer", "tsne");
  const std::filesystem::path out = a.str("out", "class-atlas-" + cls);
  const auto device = actatlas::pick_device(a.str("device", "auto"));
  const std::string objective = a.str("objective", "cossim");
  actatlas::class_atlas_options o;
  o.render = read_render_options(a);
  a.reject_unknown();
  o.filter = actatlas::experiments::parse_class_filter(filter);
  o.top_n = top_n;
  if (top_n == 0) throw cli::usage_error("class-atlas: --top-n must be at least 1");
  if (reducer == "tsne") o.reducer = actatlas::class_atlas_reducer::tsne;
  else if (reducer == "umap") o.reducer = actatlas::class_atlas_reducer::umap;
  else throw cli::usage_error("class-atlas: --reducer must be tsne or umap, got '" + reducer + "'");
  auto model = actatlas::open_model(model_path, device);
  o.cls = actatlas::experiments::resolve_class(cls, model->info().class_names, "--class");
  actatlas::class_atlas_result r;
  if (objective == "dot") r = run_with(*model, run, out, actatlas::objective::dot{}, o);
  else if (objective == "article") r = run_with(*model, run, out, actatlas::objective::article_cossim<4>{}, o);
  else r = run_with(*model, run, out, actatlas::objective::cossim_dot<4>{}, o);
  std::fprintf(stderr, "class-atlas: %zu samples kept by the %s filter, %zu cells, %zu icons rendered\n", r.samples.size(),
               filter.c_str(), r.atlas.cells.at(0), r.atlas.icons_rendered);
  std::printf("atlas:  %s\nviewer: %s\n", r.atlas.atlas_png.string().c_str(), (out / "index.html").string().c_str());
  return 0;
}

const bool registered =
    cli::add_command({"class-atlas", "the class activation atlas of one class (rank/magnitude filter, t-SNE)", usage, run_class_atlas});

}  // namespace

// actatlas compare: the article's two-class comparison (e.g. snorkel vs scuba diver):
// x = attribution difference A − B, y = 1-D t-SNE, 10×10 grid, icons.
#include <actatlas/experiments/class_names.hpp>
#include <actatlas/objective/article_cossim.hpp>
#include <actatlas/objective/cossim_dot.hpp>
#include <actatlas/objective/dot.hpp>
#include <actatlas/torch/compare.hpp>
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/models.hpp>

#include <cstdio>

#include "cli.hpp"
#include "render_args.hpp"

namespace {

const char* usage = R"(actatlas compare --model M --run DIR --classes A,B [options]

Compares two classes: the samples that support either strongly (the top N of each by
attribution, the magnitude filter), placed left to right by how much more they support
A than B (the difference scaled by its 99th percentile, clipped to [-1, 1]; A on the
left) and top to bottom by a 1-D t-SNE. out/compare.png is the atlas under a header
naming the sides.

  --model M          the model the activations came from
  --run DIR          a collection folder with attributions (actatlas collect)
  --classes A,B      the two classes, by name or logit index
  --top-n N          samples per class (2000)
  --out DIR          the atlas folder (default compare-A-B)
)" ACTATLAS_RENDER_OPTIONS_HELP R"(
The grid defaults to 10 here.)";

int run_compare(const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  bool has_grid = false;
  for (const auto& s : argv) has_grid = has_grid || s == "--grid" || s.rfind("--grid=", 0) == 0;
  if (!has_grid) args.insert(args.end(), {"--grid", "10"});
  cli::args a("compare", args, render_flags());
  const std::filesystem::path run = a.str("run");
  const std::string model_path = a.str("model");
  const auto [name_a, name_b] = actatlas::experiments::split_pair(a.str("classes"), "--classes");
  const auto top_n = a.number<std::size_t>("top-n", 2000);
  const std::filesystem::path out = a.str("out", "compare-" + name_a + "-" + name_b);
  const auto device = actatlas::pick_device(a.str("device", "auto"));
  const std::string objective = a.str("objective", "cossim");
  actatlas::compare_options o;
  const auto normalise = o.render.normalise;
  o.render = read_render_options(a);
  o.render.normalise = normalise;  // x must keep its meaning: min–max only
  a.reject_unknown();
  if (top_n == 0) throw cli::usage_error("compare: --top-n must be at least 1");
  o.top_n = top_n;
  auto model = actatlas::open_model(model_path, device);
  o.class_a = actatlas::experiments::resolve_class(name_a, model->info().class_names, "--classes");
  o.class_b = actatlas::experiments::resolve_class(name_b, model->info().class_names, "--classes");
  actatlas::compare_result r;
  if (objective == "dot") r = actatlas::compare_classes(*model, run, out, actatlas::objective::dot{}, o);
  else if (objective == "article") r = actatlas::compare_classes(*model, run, out, actatlas::objective::article_cossim<4>{}, o);
  else r = actatlas::compare_classes(*model, run, out, actatlas::objective::cossim_dot<4>{}, o);
  std::fprintf(stderr, "compare: %zu samples of %s, %zu of %s, %zu together; %zu cells\n", r.samples_a, name_a.c_str(),
               r.samples_b, name_b.c_str(), r.samples.size(), r.atlas.cells.at(0));
  std::printf("picture: %s\nviewer:  %s\n", r.picture.string().c_str(), (out / "index.html").string().c_str());
  return 0;
}

const bool registered =
    cli::add_command({"compare", "two classes side by side: attribution difference × 1-D t-SNE", usage, run_compare});

}  // namespace

// actatlas atlas: collect + layout + render in one command, each stage reusing what is
// already in the output folder.
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/models.hpp>

#include <cstdio>

#include "cli.hpp"
#include "render_args.hpp"
#include "steps.hpp"

namespace {

const char* usage = R"(actatlas atlas --model M --images DIR --layer L --out DIR [options]

collect + layout + render: the article's activation atlas of one layer.

  --model M          model file (TorchScript, InceptionV1 .safetensors, demo model)
  --images DIR       folder of images, searched recursively
  --layer L          the layer to map
  --out DIR          output: DIR/run (collection, layout) and DIR/atlas (pictures, viewer)
  --samples N        samples, one random position per image visit (default: one pass)
  --batch B          images per forward pass (32)
  --neighbors K      UMAP neighbours (15; the article used 50 with --metric cosine)
  --min-dist D       UMAP min_dist (0.1; the article used 0.05)
  --metric M         euclidean (default) | cosine
)" ACTATLAS_RENDER_OPTIONS_HELP;

int run_atlas(const std::vector<std::string>& argv) {
  cli::args a("atlas", argv, render_flags());
  const std::string model_path = a.str("model");
  const std::filesystem::path images = a.str("images");
  const std::string layer = a.str("layer");
  const std::filesystem::path out = a.str("out");
  const auto samples = a.number<std::uint64_t>("samples", 0);
  const auto batch = a.number<std::size_t>("batch", 32);
  actatlas::reducer::umap::options u;
  u.n_neighbors = a.number<std::size_t>("neighbors", 15);
  u.min_dist = a.number<float>("min-dist", 0.1f);
  u.metric = actatlas::parse_metric(a.str("metric", "euclidean"));
  const auto seed = a.number<std::uint64_t>("seed", 0);
  u.seed = seed;
  const auto device = actatlas::pick_device(a.str("device", "auto"));
  auto render_opts = read_render_options(a);
  a.reject_unknown();
  if (batch == 0) throw cli::usage_error("atlas: --batch must be at least 1");

  auto model = actatlas::open_model(model_path, device);
  const auto run = out / "run";
  steps::collect(*model, std::filesystem::path(model_path).filename().string(), images, run, layer, samples, seed, batch);
  steps::layout(run, u);
  render_opts.title = std::filesystem::path(model_path).filename().string() + " · " + layer;
  const auto result = render_with_objective(*model, run, out / "atlas", render_opts, a);
  std::printf("atlas:  %s\nviewer: %s\n", result.atlas_png.string().c_str(), (out / "atlas" / "index.html").string().c_str());
  return 0;
}

const bool registered = cli::add_command({"atlas", "collect + layout + render in one command", usage, run_atlas});

}  // namespace

// actatlas demo: the embedded default, end to end, with nothing to download:
// procedural images → demo CNN (trained once, cached) → 20,000 samples → UMAP → grid →
// icons → atlas PNG, cells JSON, viewer.
#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/io/remove_tree.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/device.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "cli.hpp"
#include "render_args.hpp"
#include "steps.hpp"

namespace {

const char* usage = R"(actatlas demo [options]

Builds an activation atlas of the demo CNN on the procedural image set, end to end.
Every stage is reused when its result is already in the output folder.

  --out DIR          output folder (default actatlas-demo)
  --cache DIR        where the trained demo model is kept (default $ACTATLAS_CACHE,
                     else ~/.cache/actatlas)
  --per-class N      procedural images per class (default 1250: 20,000 images)
  --samples N        activation samples, one random position per image visit (20000)
  --layer L          conv1 | conv2 | conv3 | conv4 (default conv4)
  --neighbors K      UMAP neighbours (default 15)
)" ACTATLAS_RENDER_OPTIONS_HELP R"(
The demo's icon defaults are lighter than the article's (256 steps, 1 attempt,
64-pixel icons, one 20×20 level) so that it runs on a laptop CPU in minutes; pass --levels 3
for a zoomable atlas (20, 40, 80 cells a side) and --steps 1024
--attempts 4 for the reference settings.)";

int run_demo(const std::vector<std::string>& argv) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  // The demo's lighter defaults for the render options, unless given.
  std::vector<std::string> args_with_defaults = argv;
  auto default_to = [&](const std::string& key, const std::string& value) {
    for (const auto& a : argv)
      if (a == "--" + key || a.rfind("--" + key + "=", 0) == 0) return;
    args_with_defaults.push_back("--" + key);
    args_with_defaults.push_back(value);
  };
  default_to("steps", "256");
  default_to("attempts", "1");
  default_to("icon-size", "64");
  default_to("levels", "1");
  default_to("cell-px", "64");
  cli::args a("demo", args_with_defaults, render_flags());
  const std::filesystem::path out = a.str("out", "actatlas-demo");
  const std::filesystem::path cache = a.str("cache", actatlas::default_demo_cache_dir().string());
  const auto per_class = a.number<std::size_t>("per-class", 1250);
  const auto samples = a.number<std::uint64_t>("samples", 20000);
  const std::string layer = a.str("layer", "conv4");
  const auto neighbors = a.number<std::size_t>("neighbors", 15);
  const auto seed = a.number<std::uint64_t>("seed", 0);
  const auto device = actatlas::pick_device(a.str("device", "auto"));
  auto render_opts = read_render_options(a);
  a.reject_unknown();
  if (per_class == 0 || samples == 0) throw cli::usage_error("demo: --per-class and --samples must be at least 1");

  std::fprintf(stderr, "demo: [1/5] the demo model (cached in %s)\n", cache.string().c_str());
  auto model = actatlas::load_or_train_demo_model(cache, {}, actatlas::progress_bar{});
  model->to(device);
  std::fprintf(stderr, "demo: model held-out accuracy %.1f%%, on %s\n",
               100.0 * model->metadata().value("heldout_accuracy", 0.0), device.str().c_str());

  // The image folder is complete once its marker exists (written last).
  const auto images = out / "images";
  const auto marker = images / ".complete";
  const std::string wanted = std::to_string(per_class) + " per class, seed " + std::to_string(seed);
  std::string have;
  if (std::ifstream in{marker}) std::getline(in, have);
  if (have != wanted) {
    std::fprintf(stderr, "demo: [2/5] writing %zu procedural images to %s\n", per_class * actatlas::demo::class_count(),
                 images.string().c_str());
    actatlas::io::remove_tree(images);
    actatlas::demo::write_folder(images, per_class, seed + 1000, actatlas::demo::default_image_size, actatlas::progress_bar{});
    actatlas::io::atomic_write(marker, [&](std::ostream& o) { o << wanted << '\n'; });
  } else {
    std::fprintf(stderr, "demo: [2/5] reusing the images in %s\n", images.string().c_str());
  }

  const auto run = out / "run";
  std::fprintf(stderr, "demo: [3/5] collecting %llu samples of %s\n", static_cast<unsigned long long>(samples), layer.c_str());
  steps::collect(*model, "demo_cnn", images, run, layer, samples, seed, 64);

  std::fprintf(stderr, "demo: [4/5] UMAP layout\n");
  steps::layout(run, {.n_neighbors = neighbors, .seed = seed});

  std::fprintf(stderr, "demo: [5/5] icons and atlas\n");
  render_opts.title = "demo CNN · " + layer;
  const auto result = render_with_objective(*model, run, out / "atlas", render_opts, a);
  const double secs = std::chrono::duration<double>(clock::now() - start).count();
  std::fprintf(stderr, "demo: %zu icons rendered, %zu reused; done in %.0f s\n", result.icons_rendered,
               result.icons_reused, secs);
  std::printf("atlas:  %s\nviewer: %s\n", std::filesystem::absolute(result.atlas_png).string().c_str(),
              std::filesystem::absolute(out / "atlas" / "index.html").string().c_str());
  return 0;
}

const bool registered = cli::add_command({"demo", "the embedded demo, end to end (no download)", usage, run_demo});

}  // namespace

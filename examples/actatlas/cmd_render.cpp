// actatlas render: a collection folder with its layout → the atlas (icons, pictures,
// zoom levels, cells JSON, patches, viewer).
#include <actatlas/objective/article_cossim.hpp>
#include <actatlas/objective/cossim_dot.hpp>
#include <actatlas/objective/dot.hpp>
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/models.hpp>
#include <actatlas/torch/render_atlas.hpp>

#include <cstdio>

#include "cli.hpp"
#include "render_args.hpp"

namespace {

const char* usage = R"(actatlas render --model M --run DIR [options]

Renders the atlas of a collection folder that has a layout (actatlas collect, then
actatlas layout --in DIR/activations.npy --out DIR/layout.npy).

  --model M          the model the activations came from
  --run DIR          the collection folder
  --out DIR          where the atlas goes (default DIR/atlas)
)" ACTATLAS_RENDER_OPTIONS_HELP;

int run_render(const std::vector<std::string>& argv) {
  cli::args a("render", argv, render_flags());
  const std::filesystem::path run = a.str("run");
  const std::filesystem::path out = a.str("out", (run / "atlas").string());
  const auto device = actatlas::pick_device(a.str("device", "auto"));
  const std::string model_path = a.str("model");
  auto opts = read_render_options(a);
  a.reject_unknown();
  auto model = actatlas::open_model(model_path, device);
  const auto result = render_with_objective(*model, run, out, opts, a);
  std::fprintf(stderr, "render: %zu icons rendered, %zu reused from the cache\n", result.icons_rendered, result.icons_reused);
  std::printf("atlas: %s\nviewer: %s\n", result.atlas_png.string().c_str(), (out / "index.html").string().c_str());
  return 0;
}

const bool registered = cli::add_command({"render", "collection + layout → atlas picture, zoom levels, cells JSON, viewer", usage, run_render});

}  // namespace

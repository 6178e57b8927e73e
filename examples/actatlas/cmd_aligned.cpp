// actatlas aligned: atlases of two layers in one layout, side by side with linked hover.
#include <actatlas/experiments/class_names.hpp>
#include <actatlas/objective/cossim_dot.hpp>
#include <actatlas/torch/aligned_atlas.hpp>
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/models.hpp>

#include <cstdio>

#include "cli.hpp"
#include "render_args.hpp"

namespace {

const char* usage = R"(actatlas aligned --model M --images DIR --layers L1,L2 [options]

Atlases of two layers in which the same concept sits in the same place: samples of
both layers at the same image spots (the finer map's position under the coarser map's
receptive-field centre), each layer mapped into the other's space by least squares,
one UMAP of both layers' samples in the concatenated space. Writes OUT/L1 and OUT/L2
(atlas folders, each with its run/) and OUT/index.html (both atlases, hover linked).

  --model M          the model
  --images DIR       the images
  --layers L1,L2     the two layers
  --samples N        paired samples, one random spot per image visit (default: one
                     per image)
  --neighbors K      UMAP neighbours (15)
  --baseline         also lay each layer out alone (two independent UMAPs) and print
                     the mean displacement there, raw and after the best similarity
                     transform, beside the aligned one
  --out DIR          output folder (default aligned-L1-L2)
)" ACTATLAS_RENDER_OPTIONS_HELP R"(
The grid defaults to 12 here; the objective is lucid's cossim.)";

int run_aligned(const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  bool has_grid = false;
  for (const auto& s : argv) has_grid = has_grid || s == "--grid" || s.rfind("--grid=", 0) == 0;
  if (!has_grid) args.insert(args.end(), {"--grid", "12"});
  auto flags = render_flags();
  flags.insert("baseline");
  cli::args a("aligned", args, flags);
  const std::string model_path = a.str("model");
  const std::filesystem::path images = a.str("images");
  const auto [la, lb] = actatlas::experiments::split_pair(a.str("layers"), "--layers");
  actatlas::aligned_atlas_options o;
  o.samples = a.number<std::uint64_t>("samples", 0);
  o.layout.umap.n_neighbors = a.number<std::size_t>("neighbors", 15);
  const std::filesystem::path out = a.str("out", "aligned-" + la + "-" + lb);
  const auto device = actatlas::pick_device(a.str("device", "auto"));
  const bool baseline = a.flag("baseline");
  if (a.str("objective", "cossim") != "cossim") throw cli::usage_error("aligned: only --objective cossim is supported");
  const auto normalise = o.render.normalise;
  o.render = read_render_options(a);
  o.render.normalise = normalise;  // the shared frame must not be renormalised
  o.seed = o.render.icons.seed;
  a.reject_unknown();
  o.model_name = std::filesystem::path(model_path).filename().string();
  auto model = actatlas::open_model(model_path, device);
  const auto r = actatlas::aligned_atlas(*model, images, la, lb, out, actatlas::objective::cossim_dot<4>{}, o);
  std::fprintf(stderr,
               "aligned: explained variance %s→%s %.2f, %s→%s %.2f; mean displacement of a sample between the two "
               "layouts %.3f (unit square)\n",
               la.c_str(), lb.c_str(), r.layouts.explained_ab, lb.c_str(), la.c_str(), r.layouts.explained_ba, r.mean_displacement);
  if (baseline) {
    namespace ex = actatlas::experiments;
    const auto acts_a = actatlas::io::read_npy<float, 2>(out / la / "run" / "activations.npy");
    const auto acts_b = actatlas::io::read_npy<float, 2>(out / lb / "run" / "activations.npy");
    const auto [ia, ib] = ex::independent_layouts(acts_a, acts_b, o.layout.umap, actatlas::progress_bar{});
    std::fprintf(stderr,
                 "aligned: baseline, two independent UMAPs: mean displacement %.3f raw, %.3f after the best similarity "
                 "transform (aligned: %.3f)\n",
                 ex::mean_displacement(ia, ib), ex::mean_displacement(ex::procrustes_align(ib, ia), ia), r.mean_displacement);
  }
  std::printf("atlases: %s %s\nviewer:  %s\n", r.atlas_a.atlas_png.string().c_str(), r.atlas_b.atlas_png.string().c_str(),
              r.page.string().c_str());
  return 0;
}

const bool registered =
    cli::add_command({"aligned", "atlases of two layers in one layout, hover linked (beyond the article)", usage, run_aligned});

}  // namespace

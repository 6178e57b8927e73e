// A class activation atlas (the article's "Further Isolating Classes"): collect once, then
// keep only the samples whose largest attribution is to one class, lay them out on their
// own with t-SNE and render them on an 8×8 grid.
//
//   class_atlas OUT_DIR [CLASS]     (CLASS: a demo class name, default "sun")
#include <actatlas/actatlas.hpp>
#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/pipeline.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: class_atlas OUT_DIR [CLASS]\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  const std::string name = argc == 3 ? argv[2] : "sun";
  auto model = actatlas::load_or_train_demo_model(actatlas::default_demo_cache_dir());
  actatlas::demo::write_folder(out / "images", 40, 5);
  const std::size_t cls = actatlas::demo::class_index(name);

  // [snippet:class-atlas]
  // Collect with any pipeline (here the default one) ...
  actatlas::pipeline<> collector;
  collector.collection().layer = "conv4";
  collector.collect(*model, out / "images", out / "run");
  // ... then the class atlas: the rank filter, t-SNE (lucid's class settings), an 8×8 grid.
  auto p = actatlas::presets::class_atlas(actatlas::filter::rank({.cls = cls}));
  p.icons().steps = 64;
  p.icons().attempts = 1;
  const auto laid_out = p.lay_out(out / "run" / "activations.npy", out / name / "layout.npy");
  const auto atlas = p.render(*model, out / "run", out / name / "layout.npy", out / name);
  // [end]

  std::printf("class atlas of '%s': %zu samples kept, %zu cells with an icon: %s\n", name.c_str(), laid_out.samples.size(),
              atlas.cells.at(0), atlas.atlas_png.c_str());
  return 0;
}

// The article's activation atlas of one layer of the demo CNN, in one call: random
// positions, UMAP, a grid, no filter, lucid's objective; only the icon budget is lighter.
//
//   article_atlas OUT_DIR      (the demo model is trained once into $ACTATLAS_CACHE or
//                               ~/.cache/actatlas; the images are made procedurally)
#include <actatlas/actatlas.hpp>
#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/pipeline.hpp>

#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: article_atlas OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  auto model = actatlas::load_or_train_demo_model(actatlas::default_demo_cache_dir());
  actatlas::demo::write_folder(out / "images", 40, 7);  // 640 images, 40 of each class

  // [snippet:article-atlas]
  actatlas::pipeline<> atlas;           // the article's atlas: every role at its default
  atlas.collection().layer = "conv4";   // the layer to map
  atlas.icons().steps = 64;             // the article uses 1024 steps × 4 attempts
  atlas.icons().attempts = 1;
  atlas.on_stage() = [](const actatlas::stage_report& r) { std::fprintf(stderr, "%s\n", r.text().c_str()); };
  const auto result = atlas.atlas(*model, out / "images", out / "atlas");
  // [end]

  std::printf("%zu samples, %zu cells with an icon: %s\n", static_cast<std::size_t>(result.collection.samples),
              result.atlas.cells.at(0), result.atlas.atlas_png.c_str());
  return 0;
}

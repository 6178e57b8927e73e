// The pipeline drives every stage on a real (small, trained) demo model: an atlas from
// policies a user writes, the stages one by one giving the same files as the one call,
// stage records that rerun exactly the stages whose options or inputs changed, an empty
// atlas that says why, and icons keyed on the model's weights.
#include <catch2/catch.hpp>

#include <actatlas/actatlas.hpp>
#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/io/cells_json.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/pipeline.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include "demo_fixture.hpp"

namespace fs = std::filesystem;
using namespace actatlas;

namespace {

// A user's sampler: the top-left position inside a one-cell margin, for every image.
struct corner_sampler {
  using role = actatlas::role::sampler;
  static constexpr std::string_view name = "corner";
  struct options {};
  std::vector<position> positions(std::uint64_t, std::size_t h, std::size_t w) const {
    return {{static_cast<std::int32_t>(h > 2 ? 1 : 0), static_cast<std::int32_t>(w > 2 ? 1 : 0)}};
  }
};

// A user's reducer: the first two coordinates, with a scale it describes for the records.
struct first_two {
  using role = actatlas::role::reducer;
  static constexpr std::string_view name = "first_two";
  struct options {
    float scale = 1.f;
  };
  options o;
  nlohmann::json describe() const { return {{"scale", o.scale}}; }
  matrix reduce(matrix_cref x, std::size_t dims, const progress_fn& = {}) const {
    matrix y = matrix::from_shape({x.rows(), dims});
    for (std::size_t i = 0; i < x.rows(); ++i)
      for (std::size_t j = 0; j < dims; ++j) y(i, j) = o.scale * x(i, j);
    return y;
  }
};

struct scratch_images {
  fs::path dir;
  scratch_images() {
    const char* base = std::getenv("ACTATLAS_TEST_DATA");
    dir = fs::path(base ? base : fs::temp_directory_path().string()) / ("pipeline-stages-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    demo::write_folder(dir / "images", 6, 31);  // 96 images
  }
  ~scratch_images() { fs::remove_all(dir); }
};

scratch_images& images() {
  static scratch_images s;
  return s;
}

demo_model& small_model() {
  static auto m = load_or_train_demo_model(test::small_demo_cache(), test::small_demo_budget());
  return *m;
}

//! Light settings: tiny icons, few steps, a 3×3 grid with two levels.
template <class P>
void light(P& p) {
  p.collection().layer = "conv3";
  p.collection().batch = 32;
  p.icons().size = 24;
  p.icons().steps = 6;
  p.icons().attempts = 1;
  p.pictures().canvas.cell_px = 24;
  p.pictures().patches_per_cell = 1;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("an atlas from policies the user wrote, end to end", "[pipeline][stages]") {
  pipeline<corner_sampler, first_two, binning::multires_grid> p(binning::multires_grid({.base_grid = 3, .levels = 2, .min_count = 1}));
  light(p);
  const fs::path out = images().dir / "user-policies";
  const auto r = p.atlas(small_model(), images().dir / "images", out);
  REQUIRE(r.collection.samples == 96);
  // Every sample comes from the user's sampler's position.
  std::ifstream prov(out / "run" / "provenance.csv");
  std::string line;
  std::getline(prov, line);
  std::size_t rows = 0;
  while (std::getline(prov, line)) {
    ++rows;
    CHECK(line.substr(line.size() - 4) == ",1,1");
  }
  CHECK(rows == 96);
  // The layout is the user's reducer's: the first two activation coordinates.
  const auto acts = io::read_npy<float, 2>(out / "run" / "activations.npy");
  const auto layout = io::read_npy<float, 2>(out / "run" / "layout.npy");
  for (std::size_t i = 0; i < 96; ++i) {
    CHECK(layout(i, 0) == acts(i, 0));
    CHECK(layout(i, 1) == acts(i, 1));
  }
  // Both levels binned, every sample in exactly one cell per level, an icon per cell.
  REQUIRE(r.atlas.grids == std::vector<std::size_t>{3, 6});
  for (std::size_t g : {3, 6}) {
    const auto level = io::read_cells_json(out / "atlas" / ("cells_" + std::to_string(g) + ".json"));
    std::size_t members = 0;
    for (const auto& c : level.cells) {
      members += c.members.size();
      CHECK(fs::exists(out / "atlas" / "icons" / std::to_string(g) / (std::to_string(c.ix) + "_" + std::to_string(c.iy) + ".png")));
    }
    CHECK(members == 96);
  }
  CHECK(fs::exists(out / "atlas" / "atlas.png"));
  CHECK(fs::exists(out / "atlas" / "index.html"));
}

TEST_CASE("collect, lay_out and render one by one give the files of atlas(); records rerun only what changed",
          "[pipeline][stages]") {
  pipeline<binning::multires_grid, reducer::tsne> p(binning::multires_grid({.base_grid = 3, .levels = 1, .min_count = 2}),
                                                    reducer::tsne({.iterations = 250, .seed = 4}));
  light(p);
  std::vector<stage_report> heard;
  p.on_stage() = [&](const stage_report& r) { heard.push_back(r); };
  const fs::path one = images().dir / "one-call", staged = images().dir / "staged";
  p.atlas(small_model(), images().dir / "images", one);
  p.collect(small_model(), images().dir / "images", staged / "run");
  p.lay_out(staged / "run" / "activations.npy", staged / "run" / "layout.npy");
  p.render(small_model(), staged / "run", staged / "run" / "layout.npy", staged / "atlas");
  for (const char* f : {"run/activations.npy", "run/attributions.npy", "run/layout.npy", "atlas/cells_3.json", "atlas/icons/3/0_0.png"})
    CHECK(slurp(one / f) == slurp(staged / f));
  for (const auto& r : heard) CHECK_FALSE(r.reused);

  // Nothing changed: every stage reused.
  heard.clear();
  p.atlas(small_model(), images().dir / "images", one);
  REQUIRE(heard.size() == 3);
  for (const auto& r : heard) CHECK(r.reused);

  // A render option: only render reruns; icons of unchanged cells come from the cache.
  heard.clear();
  auto bigger = p;
  bigger.pictures().canvas.cell_px = 32;
  const auto r = bigger.atlas(small_model(), images().dir / "images", one);
  REQUIRE(heard.size() == 3);
  CHECK(heard[0].reused);
  CHECK(heard[1].reused);
  CHECK_FALSE(heard[2].reused);
  CHECK(heard[2].why == "pictures.cell_px was 24, now 32");
  CHECK(r.atlas.icons_rendered == 0);
  CHECK(r.atlas.icons_reused > 0);

  // A layout option: layout and render rerun, collection is reused.
  heard.clear();
  auto other = bigger;
  // (Not the seed: t-SNE starts from the PCA of the data, so its seed changes nothing here.)
  other.reducer() = reducer::tsne({.iterations = 300, .seed = 4});
  other.atlas(small_model(), images().dir / "images", one);
  REQUIRE(heard.size() == 3);
  CHECK(heard[0].reused);
  CHECK_FALSE(heard[1].reused);
  CHECK(heard[1].why == "reducer.options.iterations was 250, now 300");
  CHECK_FALSE(heard[2].reused);
  CHECK(heard[2].why.rfind("inputs.layout was", 0) == 0);

  // A collection option: everything reruns.
  heard.clear();
  auto layer = other;
  layer.collection().layer = "conv4";
  layer.atlas(small_model(), images().dir / "images", one);
  REQUIRE(heard.size() == 3);
  for (const auto& h : heard) CHECK_FALSE(h.reused);
  CHECK(heard[0].why.rfind("layer was \"conv3\", now \"conv4\"; map_size was [16,16], now [8,8]", 0) == 0);
}

TEST_CASE("an atlas with nothing to draw says why, in the binning's terms", "[pipeline][stages]") {
  pipeline<binning::multires_grid> p(binning::multires_grid({.base_grid = 2, .levels = 1, .min_count = 1000}));
  light(p);
  const fs::path out = images().dir / "empty";
  p.collect(small_model(), images().dir / "images", out / "run");
  p.lay_out(out / "run" / "activations.npy", out / "run" / "layout.npy");
  CHECK_THROWS_WITH(p.render(small_model(), out / "run", out / "run" / "layout.npy", out / "atlas"),
                    Catch::StartsWith("binning::multires_grid.min_count: no cell of the 2×2 grid"));
  CHECK_FALSE(fs::exists(out / "atlas" / "atlas.png"));
}

TEST_CASE("icons are keyed on the model's weights, not its file name", "[pipeline][stages]") {
  // Review bug: the icon cache key's model part was the file name and the class count, so a
  // model retrained and saved under the same name reused icons of the old weights.
  pipeline<binning::multires_grid> p(binning::multires_grid({.base_grid = 2, .levels = 1, .min_count = 1}));
  light(p);
  std::vector<stage_report> heard;
  p.on_stage() = [&](const stage_report& r) { heard.push_back(r); };
  const fs::path out = images().dir / "weights";
  auto& model = small_model();
  const auto first = p.atlas(model, images().dir / "images", out);
  REQUIRE(first.atlas.icons_rendered > 0);
  const auto icon = out / "atlas" / "icons" / "2" / "0_0.png";
  const std::string before = slurp(icon);

  // One weight of the last layer changes (the layer the atlas maps does not): same
  // collection, same layout, but the icons must be made again.
  auto state = model.named_state();
  torch::Tensor last;
  for (auto& [name, t] : state)
    if (name.find("fc") != std::string::npos || name.find("classifier") != std::string::npos || name.find("head") != std::string::npos)
      last = t;
  if (!last.defined()) last = state.back().second;
  {
    torch::NoGradGuard no_grad;
    last.view(-1)[0].add_(1.0f);
  }
  heard.clear();
  const auto second = p.render(model, out / "run", out / "run" / "layout.npy", out / "atlas");
  {
    torch::NoGradGuard no_grad;
    last.view(-1)[0].sub_(1.0f);
  }
  REQUIRE(heard.size() == 1);
  CHECK_FALSE(heard[0].reused);
  CHECK(heard[0].why.rfind("model was", 0) == 0);
  CHECK(second.icons_rendered == first.atlas.icons_rendered);
  CHECK(second.icons_reused == 0);
}

// Vision transformers (issue 15): a tiny ViT built in C++ as TorchScript, saved with its
// token metadata as tools/export_torchvision.py writes it, exercises the token contract
// (declaration checked at load), sampling of patch tokens, attribution per token and icons
// through a resize to the model's fixed input size, without Python.
#include <catch2/catch.hpp>

#include <actatlas/io/npy.hpp>
#include <actatlas/io/provenance_csv.hpp>
#include <actatlas/objective/cossim_dot.hpp>
#include <actatlas/objective/dot.hpp>
#include <actatlas/sampler/all_positions.hpp>
#include <actatlas/sampler/random_position.hpp>
#include <actatlas/torch/attribution.hpp>
#include <actatlas/torch/collect.hpp>
#include <actatlas/torch/inversion/render_icons.hpp>
#include <actatlas/torch/load_model.hpp>
#include <actatlas/torch/torchscript_model.hpp>

#include <regex>

#include "model_fixtures.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

// TinyViT: 32×32 RGB → 8×8 patches (a 4×4 grid) embedded in D = 12 → a class token and one
// register token in front (2 leading tokens, 18 in all) + position embeddings → block 0
// ("block0", tokens [B,18,12]) → its patch tokens as a channels-last grid ("grid0",
// [B,4,4,12]), which block 1 reads back (so both layers lie on the path to the logits) →
// block 1 ("block1") → layer norm of the class token plus the patch tokens' mean → 5
// logits. Each block is pre-norm two-head self-attention and a GELU MLP, as in ViT. The
// position embeddings make the input size fixed: another size fails in forward.
// Why the mean: a layer norm is blind to the scale of its input, so a token whose only way
// to the logits is through one (a patch token of the last or next-to-last block of a ViT
// whose head reads the class token alone) has h_t · ∂logit/∂h_t = 0 to rounding. With the
// class token alone, both blocks' attributions here were about 1e-6 (docs/models.md).
torch::jit::Module tiny_vit(std::uint64_t seed = 1) {
  torch::manual_seed(seed);
  torch::jit::Module m("TinyViT");
  m.register_parameter("patch_w", torch::randn({12, 3, 8, 8}) * 0.1, false);
  m.register_parameter("patch_b", torch::randn({12}) * 0.1, false);
  m.register_parameter("lead", torch::randn({1, 2, 12}), false);
  m.register_parameter("pos", torch::randn({1, 18, 12}) * 0.5, false);
  for (const char* b : {"0", "1"}) {
    m.register_parameter(std::string("qkv") + b, torch::randn({36, 12}) * 0.4, false);
    m.register_parameter(std::string("proj") + b, torch::randn({12, 12}) * 0.3, false);
    m.register_parameter(std::string("fc1") + b, torch::randn({24, 12}) * 0.3, false);
    m.register_parameter(std::string("fc2") + b, torch::randn({12, 24}) * 0.3, false);
  }
  m.register_parameter("head_w", torch::randn({5, 12}), false);
  m.register_parameter("head_b", torch::randn({5}) * 0.1, false);
  m.define(R"JIT(
def attend(self, x: Tensor, qkv: Tensor, proj: Tensor) -> Tensor:
    b = x.size(0)
    t = x.size(1)
    a = torch.linear(x, qkv).reshape(b, t, 3, 2, 6).permute(2, 0, 3, 1, 4)
    att = torch.softmax(torch.matmul(a[0], a[1].transpose(-2, -1)) * 0.408, -1)
    o = torch.matmul(att, a[2]).transpose(1, 2).reshape(b, t, 12)
    return torch.linear(o, proj)

def block(self, x: Tensor, qkv: Tensor, proj: Tensor, fc1: Tensor, fc2: Tensor) -> Tensor:
    x = x + self.attend(torch.layer_norm(x, [12]), qkv, proj)
    return x + torch.linear(torch.gelu(torch.linear(torch.layer_norm(x, [12]), fc1)), fc2)

def embed(self, x: Tensor) -> Tensor:
    p = torch.conv2d((x - 0.5) / 0.25, self.patch_w, self.patch_b, [8, 8])
    tokens = p.flatten(2).transpose(1, 2)
    return torch.cat([self.lead.expand(x.size(0), -1, -1), tokens], 1) + self.pos

def forward(self, x: Tensor) -> Dict[str, Tensor]:
    h0 = self.block(self.embed(x), self.qkv0, self.proj0, self.fc10, self.fc20)
    g0 = h0[:, 2:].reshape(x.size(0), 4, 4, 12)
    h1 = self.block(torch.cat([h0[:, :2], g0.reshape(x.size(0), 16, 12)], 1), self.qkv1, self.proj1, self.fc11, self.fc21)
    logits = torch.linear(torch.layer_norm(h1[:, 0] + h1[:, 2:].mean(1), [12]), self.head_w, self.head_b)
    return {"logits": logits, "block0": h0, "grid0": g0, "block1": h1}

def features(self, x: Tensor, layers: List[str]) -> Dict[str, Tensor]:
    out: Dict[str, Tensor] = {}
    h0 = self.block(self.embed(x), self.qkv0, self.proj0, self.fc10, self.fc20)
    g0 = h0[:, 2:].reshape(x.size(0), 4, 4, 12)
    if "block0" in layers:
        out["block0"] = h0
    if "grid0" in layers:
        out["grid0"] = g0
    if "block1" in layers:
        out["block1"] = self.block(torch.cat([h0[:, :2], g0.reshape(x.size(0), 16, 12)], 1), self.qkv1, self.proj1, self.fc11, self.fc21)
    return out
)JIT");
  m.eval();
  return m;
}

// The metadata tools/export_torchvision.py writes for such a model.
const std::string tiny_vit_metadata = R"({"input_size": [32, 32], "fixed_input_size": true,
  "layers": [{"name": "block0", "channels": 12, "layout": "tokens", "leading_tokens": 2, "patch_grid": [4, 4]},
             {"name": "grid0", "layout": "channels_last", "patch_grid": [4, 4]},
             {"name": "block1", "layout": "tokens", "leading_tokens": 2, "patch_grid": [4, 4]}]})";

fs::path save_tiny_vit(const fs::path& path, std::uint64_t seed = 1, const std::string& metadata = tiny_vit_metadata) {
  tiny_vit(seed).save(path.string(), {{"actatlas.json", metadata}});
  return path;
}

// Patch token (y, x) of image b of a [B,18,12] token tensor: row-major after the 2 leading ones.
torch::Tensor token(const torch::Tensor& tokens, std::int64_t b, std::int64_t y, std::int64_t x) {
  return tokens[b][2 + y * 4 + x];
}

}  // namespace

TEST_CASE("vit: token and channels-last layers load with their declaration and read as the patch grid", "[vit]") {
  const auto dir = fixtures::scratch("vit-contract");
  auto model = actatlas::load_model(save_tiny_vit(dir / "vit.pt"), torch::kCPU);
  const auto& info = model->info();
  REQUIRE(info.fixed_input_size);
  REQUIRE(info.class_names.size() == 5);
  REQUIRE(info.layers.size() == 3);
  CHECK(info.layers[0].layout == actatlas::layer_layout::tokens);
  CHECK(info.layers[0].leading_tokens == 2);
  CHECK(info.layers[0].grid_height == 4);
  CHECK(info.layers[1].layout == actatlas::layer_layout::channels_last);
  CHECK(info.layers[1].channels == 12);  // measured by the probe pass: D, not T or w
  CHECK(info.layers[2].channels == 12);
  for (const char* layer : {"block0", "grid0", "block1"})
    CHECK(actatlas::layer_map_size(*model, layer) == std::pair<std::int64_t, std::int64_t>{4, 4});

  torch::manual_seed(2);
  const auto x = torch::rand({2, 3, 32, 32});
  torch::NoGradGuard no_grad;
  const auto out = model->forward(x, {"block0", "grid0"});
  REQUIRE(out.at("block0").sizes() == torch::IntArrayRef{2, 18, 12});  // as the network makes it
  const auto tokens = actatlas::layer_map(info.layers[0], out.at("block0"));
  const auto grid = actatlas::layer_map(info.layers[1], out.at("grid0"));
  REQUIRE(tokens.sizes() == torch::IntArrayRef{2, 12, 4, 4});
  REQUIRE(grid.sizes() == torch::IntArrayRef{2, 12, 4, 4});
  // Map position (y, x) is patch token 2 + 4y + x; the channels-last grid holds the same.
  for (std::int64_t y = 0; y < 4; ++y)
    for (std::int64_t xx = 0; xx < 4; ++xx) {
      REQUIRE(torch::equal(tokens[1].select(1, y).select(1, xx), token(out.at("block0"), 1, y, xx)));
      REQUIRE(torch::equal(grid[1].select(1, y).select(1, xx), token(out.at("block0"), 1, y, xx)));
    }
  // A view: no copy of the activations.
  CHECK(tokens.data_ptr() != nullptr);
  CHECK(tokens.storage().is_alias_of(out.at("block0").storage()));
}

TEST_CASE("vit: a declaration the probe pass contradicts is refused, naming the file and the layer", "[vit]") {
  const auto dir = fixtures::scratch("vit-declaration");
  auto refused = [&](const std::string& from, const std::string& to) {
    const auto metadata = std::regex_replace(tiny_vit_metadata, std::regex(from), to);
    REQUIRE(metadata != tiny_vit_metadata);
    return save_tiny_vit(dir / "vit.pt", 1, metadata);
  };
  using actatlas::load_model;
  SECTION("one leading token where there are two: the token count disagrees") {
    CHECK_THROWS_WITH(load_model(refused(R"("leading_tokens": 2, "patch_grid": \[4, 4\]\},)", R"("leading_tokens": 1, "patch_grid": [4, 4]},)"), torch::kCPU),
                      Contains("vit.pt") && Contains("layer 'block0' must be tokens [B,17,D]") && Contains("got [1,18,12]"));
  }
  SECTION("a 3x3 grid where there is 4x4") {
    CHECK_THROWS_WITH(load_model(refused(R"("leading_tokens": 2, "patch_grid": \[4, 4\]\}\]\})", R"("leading_tokens": 2, "patch_grid": [3, 3]}]})"), torch::kCPU),
                      Contains("vit.pt") && Contains("'block1'") && Contains("3x3 patches"));
  }
  SECTION("a token layer declared as a map: the message says how to declare it") {
    CHECK_THROWS_WITH(load_model(refused(R"(\{"name": "block1".*\}\]\})", R"({"name": "block1"}]})"), torch::kCPU),
                      Contains("vit.pt") && Contains("layer 'block1' is [1,18,12], a token sequence") &&
                          Contains("\"layout\": \"tokens\""));
  }
  SECTION("a channels-last grid of the wrong size") {
    CHECK_THROWS_WITH(load_model(refused(R"("channels_last", "patch_grid": \[4, 4\])", R"("channels_last", "patch_grid": [2, 8])"), torch::kCPU),
                      Contains("vit.pt") && Contains("layer 'grid0' must be channels-last [B,2,8,D], got [1,4,4,12]"));
  }
  SECTION("the wrong channel count") {
    CHECK_THROWS_WITH(load_model(refused(R"("channels": 12)", R"("channels": 18)"), torch::kCPU),
                      Contains("vit.pt") && Contains("layer 'block0' has 12 channels, actatlas.json says 18"));
  }
  SECTION("metadata that cannot be a declaration") {
    CHECK_THROWS_WITH(load_model(refused(R"("layout": "channels_last")", R"("layout": "channel_last")"), torch::kCPU),
                      Contains("vit.pt") && Contains("layer 'grid0': unknown layout \"channel_last\""));
    CHECK_THROWS_WITH(load_model(refused(R"("leading_tokens": 2, "patch_grid": \[4, 4\]\},)", R"("leading_tokens": 2},)"), torch::kCPU),
                      Contains("vit.pt") && Contains("layer 'block0': a \"tokens\" layer needs \"patch_grid\""));
    CHECK_THROWS_WITH(load_model(refused(R"("fixed_input_size")", R"("fixed_input")"), torch::kCPU),
                      Contains("vit.pt") && Contains("unknown key \"fixed_input\"") && Contains("fixed_input_size"));
  }
}

TEST_CASE("vit: collection samples patch tokens only; provenance x, y are the token's column and row", "[vit]") {
  const auto dir = fixtures::scratch("vit-collect");
  fixtures::image_folder(dir / "images", 5);
  auto model = actatlas::load_model(save_tiny_vit(dir / "vit.pt", 3), torch::kCPU);
  const auto summary = actatlas::collect(*model, dir / "images", dir / "all", actatlas::sampler::all_positions{},
                                         {.layer = "block0", .batch = 2, .attribution = false, .decode_threads = 1});
  REQUIRE(summary.samples == 5 * 16);  // every patch token of every image, no leading token
  const auto acts = actatlas::io::read_npy<float, 2>(dir / "all" / "activations.npy");
  const auto rows = actatlas::io::read_provenance(dir / "all" / "provenance.csv");
  REQUIRE(rows.size() == 80);
  torch::NoGradGuard no_grad;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    INFO("row " << r);
    REQUIRE(rows[r].x == static_cast<std::int64_t>(r % 4));      // column
    REQUIRE(rows[r].y == static_cast<std::int64_t>(r / 4 % 4));  // row
    auto img = std::get<actatlas::io::image_planes>(actatlas::io::load_image(rows[r].image, 32, 32));
    const auto tokens = model->forward(torch::from_blob(img.pixels.data(), {1, 3, 32, 32}).clone(), {"block0"}).at("block0");
    for (std::int64_t d = 0; d < 12; ++d)
      REQUIRE(acts(r, static_cast<std::size_t>(d)) ==
              Approx(token(tokens, 0, rows[r].y, rows[r].x)[d].item<float>()).margin(1e-5));
  }
  // The default sampler's margin works on the patch grid: one token per image, off the edge.
  const actatlas::sampler::random_position sampler({.seed = 4});
  actatlas::collect(*model, dir / "images", dir / "random", sampler, {.layer = "grid0", .batch = 2, .decode_threads = 1});
  for (const auto& row : actatlas::io::read_provenance(dir / "random" / "provenance.csv")) {
    CHECK(row.x >= 1);
    CHECK(row.x <= 2);
    CHECK(row.y >= 1);
    CHECK(row.y <= 2);
  }
}

TEST_CASE("vit: a patch token's attribution is h_t · ∂logit_c/∂h_t, against one backward pass per class", "[vit]") {
  const auto dir = fixtures::scratch("vit-attribution");
  auto model = actatlas::load_model(save_tiny_vit(dir / "vit.pt", 5), torch::kCPU);
  torch::manual_seed(6);
  const auto x = torch::rand({3, 3, 32, 32});
  // Image 1 has two sites (a second round), image 2 sits in a corner.
  const std::vector<actatlas::sample_site> sites = {{0, {1, 2}}, {1, {0, 3}}, {1, {2, 1}}, {2, {3, 0}}};

  for (const char* layer : {"block0", "block1"}) {
    INFO(layer);
    const auto got = actatlas::sample_layer(*model, x, layer, sites, true);
    REQUIRE(got.attributions.sizes() == torch::IntArrayRef{4, 5});
    REQUIRE(got.height == 4);
    const auto input = x.clone().requires_grad_(true);
    const auto out = model->forward(input, {layer});
    const auto tokens = out.at(layer);  // [3,18,12]
    const auto logits = out.at("logits");
    auto expected = torch::zeros({4, 5});
    for (int c = 0; c < 5; ++c) {
      const auto grad = torch::autograd::grad({logits.select(1, c).sum()}, {tokens}, {}, true)[0];
      for (std::size_t k = 0; k < sites.size(); ++k) {
        const auto& s = sites[k];
        expected[static_cast<std::int64_t>(k)][c] =
            (token(tokens.detach(), s.image, s.where.y, s.where.x) * token(grad, s.image, s.where.y, s.where.x)).sum();
      }
    }
    for (std::size_t k = 0; k < sites.size(); ++k)
      REQUIRE(torch::equal(got.activations[static_cast<std::int64_t>(k)],
                           token(tokens.detach(), sites[k].image, sites[k].where.y, sites[k].where.x)));
    INFO("got " << got.attributions << "\nexpected " << expected);
    REQUIRE(expected.abs().max().item<float>() > 1e-2f);  // not a vacuous comparison
    REQUIRE(torch::allclose(got.attributions, expected, 1e-4, 1e-5));
  }
  // The channels-last grid holds block 0's patch tokens and block 1 reads through it: the
  // same attributions by another layout.
  const auto a = actatlas::sample_layer(*model, x, "block0", sites, true);
  const auto b = actatlas::sample_layer(*model, x, "grid0", sites, true);
  REQUIRE(torch::allclose(a.attributions, b.attributions, 1e-5, 1e-6));
  REQUIRE(torch::equal(a.activations, b.activations));
}

TEST_CASE("vit: icons are optimised through a resize to the model's fixed input, at any icon size", "[vit]") {
  const auto dir = fixtures::scratch("vit-icons");
  auto model = actatlas::load_model(save_tiny_vit(dir / "vit.pt", 7), torch::kCPU);
  torch::manual_seed(8);
  const auto directions = torch::randn({2, 12});

  // The centre activation the objective sees is the centre patch token (2, 2) of the image
  // resized to 32×32.
  {
    torch::NoGradGuard no_grad;
    const auto small = torch::rand({2, 3, 24, 24});
    const auto tokens = model->forward(actatlas::inversion::resize_to(small, 32, 32), {"block1"}).at("block1");
    const auto centre = actatlas::inversion::detail::centre_activation(*model, small, "block1");
    REQUIRE(torch::allclose(centre, torch::stack({token(tokens, 0, 2, 2), token(tokens, 1, 2, 2)}), 1e-6, 1e-6));
  }

  for (std::int64_t size : {24, 48}) {  // smaller and larger than the input
    INFO("icon size " << size);
    actatlas::inversion::render_options o;
    o.size = size;
    o.steps = 40;
    o.attempts = 1;
    o.seed = 3;
    o.transforms = {actatlas::inversion::pad{4}, actatlas::inversion::jitter{4}};
    const auto icons = actatlas::inversion::render_icons(*model, "block1", directions, actatlas::objective::dot{}, o);
    REQUIRE(icons.pixels.sizes() == torch::IntArrayRef{2, size, size, 3});
    // The optimisation made progress: the objective rose well above its first step's.
    for (int i = 0; i < 2; ++i) CHECK(icons.history[0][39][i].item<float>() > icons.history[0][0][i].item<float>() + 0.5f);
  }

  // Without the declaration the icon reaches the position embeddings at 24×24: forward fails.
  auto loose = actatlas::load_model(
      save_tiny_vit(dir / "loose.pt", 7, std::regex_replace(tiny_vit_metadata, std::regex("\"fixed_input_size\": true"),
                                                            "\"fixed_input_size\": false")),
      torch::kCPU);
  actatlas::inversion::render_options o;
  o.size = 24;
  o.steps = 2;
  o.attempts = 1;
  o.no_transforms = true;
  CHECK_THROWS_WITH(actatlas::inversion::render_icons(*loose, "block1", directions, actatlas::objective::dot{}, o),
                    Contains("loose.pt") && Contains("failed"));
}

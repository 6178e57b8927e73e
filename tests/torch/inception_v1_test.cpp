// The native InceptionV1 (layer names, widths, sizes, input range, LRN, safetensors
// weights) and the max-pool gradient relaxation it uses for attribution.
// LibTorch first, Catch2 last: some LibTorch builds (pip's 2.x) define a one-argument
// CHECK macro of their own, and Catch's must be the one in force.
#include <actatlas/io/safetensors.hpp>
#include <actatlas/torch/inception_v1.hpp>
#include <actatlas/torch/pool_gradient.hpp>

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <tuple>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using actatlas::inception_v1;
using actatlas::input_error;
using actatlas::pool_gradient;
using actatlas::pool_window;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path() / ("actatlas_inception_" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    // File by file rather than fs::remove_all: pip's LibTorch 2.x exports its own
    // std::filesystem::remove_all, which crashes when called from code built with g++ 13.
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(path, ec)) files.push_back(e.path());
    for (const auto& f : files) fs::remove(f, ec);
    fs::remove(path, ec);
  }
};

torch::Tensor seeded_uniform(std::vector<std::int64_t> shape, std::uint64_t seed, torch::Dtype dtype = torch::kFloat32) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::rand(shape, gen, torch::TensorOptions().dtype(dtype));
}

torch::Tensor seeded_normal(std::vector<std::int64_t> shape, std::uint64_t seed, torch::Dtype dtype = torch::kFloat32) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(shape, gen, torch::TensorOptions().dtype(dtype));
}

//! One random-weight model shared by the tests that only read it (building one costs ~0.1 s).
inception_v1& shared_model() {
  static inception_v1 model(inception_v1::random_init{42});
  return model;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const input_error& e) {
    return e.what();
  }
  return "(no input_error)";
}

//! The l2 / avg relaxation written out with loops over windows, in double: an
//! independent reference for the vectorised one (TF SAME: padding left out of the count).
double relaxed_reference(const std::vector<double>& x, int H, int W, const pool_window& w, pool_gradient g, int oy, int ox) {
  const int top = static_cast<int>(w.padding[2]), left = static_cast<int>(w.padding[0]);
  double s1 = 0, s2 = 0, sum = 0;
  int count = 0;
  for (int dy = 0; dy < w.kernel; ++dy)
    for (int dx = 0; dx < w.kernel; ++dx) {
      const int y = oy * static_cast<int>(w.stride) + dy - top, xx = ox * static_cast<int>(w.stride) + dx - left;
      if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
      const double v = x[static_cast<std::size_t>(y * W + xx)];
      s1 += std::abs(v);
      s2 += v * v;
      sum += v;
      ++count;
    }
  if (g == pool_gradient::avg_relaxation) return sum / count;
  return (s2 / count) / (1e-2 + s1 / count);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Max-pool gradient relaxation
// ---------------------------------------------------------------------------------------

TEST_CASE("pool_gradient: same_padding is TensorFlow's SAME", "[inception][pool_gradient]") {
  using arr = std::array<std::int64_t, 4>;
  CHECK(actatlas::same_padding(224, 224, 7, 2) == arr{2, 3, 2, 3});   // conv2d0, lucent's F.pad(x, (2,3,2,3))
  CHECK(actatlas::same_padding(112, 112, 3, 2) == arr{0, 1, 0, 1});   // maxpool0, lucent's (0,1,0,1)
  CHECK(actatlas::same_padding(28, 28, 3, 1) == arr{1, 1, 1, 1});     // mixed pools
  CHECK(actatlas::same_padding(225, 224, 7, 2) == arr{2, 3, 3, 3});   // odd height: 6 rows, split 3/3
  CHECK(actatlas::same_padding(14, 14, 1, 1) == arr{0, 0, 0, 0});
}

TEST_CASE("pool_gradient: forward is max-pool's, gradient is the relaxation's", "[inception][pool_gradient]") {
  const int H = 6, W = 7;
  const auto x0 = seeded_normal({1, 1, H, W}, 3, torch::kFloat64);
  const std::vector<double> xs(x0.data_ptr<double>(), x0.data_ptr<double>() + H * W);

  for (const auto& w : {pool_window{3, 1, actatlas::same_padding(H, W, 3, 1)},
                        pool_window{3, 2, actatlas::same_padding(H, W, 3, 2)}}) {
    for (auto g : {pool_gradient::l2_relaxation, pool_gradient::avg_relaxation}) {
      DYNAMIC_SECTION("stride " << w.stride << ", " << actatlas::to_string(g)) {
        auto x = x0.clone().requires_grad_(true);
        const auto y = actatlas::max_pool2d(x, w, g);
        // Forward: max-pool's value (−∞ padding), to one rounding.
        namespace F = torch::nn::functional;
        const auto reference = torch::max_pool2d(
            F::pad(x0, F::PadFuncOptions({w.padding[0], w.padding[1], w.padding[2], w.padding[3]}).value(-INFINITY)),
            {3, 3}, {w.stride, w.stride});
        REQUIRE(y.sizes() == reference.sizes());
        CHECK(torch::allclose(y.detach(), reference, 1e-12, 1e-12));

        // Gradient: of Σ r·y, against central finite differences of the loop reference.
        const int OH = static_cast<int>(y.size(2)), OW = static_cast<int>(y.size(3));
        const auto rw = seeded_normal({1, 1, OH, OW}, 5, torch::kFloat64);
        const auto grad = torch::autograd::grad({(y * rw).sum()}, {x})[0];
        auto objective = [&](const std::vector<double>& v) {
          double s = 0;
          for (int oy = 0; oy < OH; ++oy)
            for (int ox = 0; ox < OW; ++ox) s += rw[0][0][oy][ox].item<double>() * relaxed_reference(v, H, W, w, g, oy, ox);
          return s;
        };
        const double eps = 1e-6;
        double worst = 0;
        for (int i = 0; i < H * W; ++i) {
          auto plus = xs, minus = xs;
          plus[static_cast<std::size_t>(i)] += eps;
          minus[static_cast<std::size_t>(i)] -= eps;
          const double fd = (objective(plus) - objective(minus)) / (2 * eps);
          worst = std::max(worst, std::abs(fd - grad.view(-1)[i].item<double>()));
        }
        CHECK(worst < 1e-6);
        // And the relaxation's gradient is not max-pool's.
        auto xe = x0.clone().requires_grad_(true);
        const auto exact_grad =
            torch::autograd::grad({(actatlas::max_pool2d(xe, w, pool_gradient::exact) * rw).sum()}, {xe})[0];
        CHECK((exact_grad - grad).abs().max().item<double>() > 1e-3);
      }
    }
  }
}

TEST_CASE("pool_gradient: exact is max-pool's gradient; no grad → plain max-pool", "[inception][pool_gradient]") {
  const auto x0 = seeded_normal({2, 3, 8, 8}, 11);
  const pool_window w{3, 2, actatlas::same_padding(8, 8, 3, 2)};
  auto x = x0.clone().requires_grad_(true);
  const auto g = torch::autograd::grad({actatlas::max_pool2d(x, w, pool_gradient::exact).sum()}, {x})[0];
  // Each output's gradient goes to its window's arg-max only: 2·3·4·4 outputs, each adds 1.
  CHECK(g.sum().item<float>() == Approx(2 * 3 * 4 * 4));
  CHECK(((g != 0).sum().item<std::int64_t>()) <= 2 * 3 * 4 * 4);

  // Not asked for a derivative: the relaxation is skipped, the result is max-pool's exactly.
  const auto plain = actatlas::max_pool2d(x0, w, pool_gradient::exact);
  const auto relaxed_mode = actatlas::max_pool2d(x0, w, pool_gradient::l2_relaxation);
  CHECK(torch::equal(plain, relaxed_mode));
  // Asked for one: equal to float rounding.
  const auto with_grad = actatlas::max_pool2d(x, w, pool_gradient::l2_relaxation);
  CHECK(torch::allclose(with_grad.detach(), plain, 1e-6, 1e-6));
}

// ---------------------------------------------------------------------------------------
// InceptionV1
// ---------------------------------------------------------------------------------------

TEST_CASE("inception_v1: the article's layers, widths and sizes at 224×224", "[inception]") {
  auto& model = shared_model();
  const auto& info = model.info();
  CHECK(info.input_height == 224);
  CHECK(info.input_width == 224);
  CHECK(info.class_names.size() == 1008);
  const std::vector<std::pair<std::string, std::vector<std::int64_t>>> expected = {
      {"conv2d0", {64, 112}},   {"maxpool0", {64, 56}},  {"localresponsenorm0", {64, 56}}, {"conv2d1", {64, 56}},
      {"conv2d2", {192, 56}},   {"localresponsenorm1", {192, 56}}, {"maxpool1", {192, 28}}, {"mixed3a", {256, 28}},
      {"mixed3b", {480, 28}},   {"maxpool4", {480, 14}}, {"mixed4a", {508, 14}}, {"mixed4b", {512, 14}},
      {"mixed4c", {512, 14}},   {"mixed4d", {528, 14}},  {"mixed4e", {832, 14}}, {"maxpool10", {832, 7}},
      {"mixed5a", {832, 7}},    {"mixed5b", {1024, 7}},  {"avgpool0", {1024, 1}}, {"softmax2", {1008, 1}},
  };
  REQUIRE(info.layers.size() == expected.size());
  std::vector<std::string> names;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(info.layers[i].name == expected[i].first);
    CHECK(info.layers[i].channels == expected[i].second[0]);
    names.push_back(expected[i].first);
  }

  torch::NoGradGuard no_grad;
  const auto x = seeded_uniform({1, 3, 224, 224}, 1);
  const auto out = model.forward(x, names);
  REQUIRE(out.size() == names.size() + 1);
  for (const auto& [name, dims] : expected) {
    INFO(name);
    const auto& t = out.at(name);
    CHECK(t.sizes() == torch::IntArrayRef({1, dims[0], dims[1], dims[1]}));
    CHECK(torch::isfinite(t).all().item<bool>());
  }
  const auto& logits = out.at("logits");
  CHECK(logits.sizes() == torch::IntArrayRef({1, 1008}));
  // avgpool0 is the mean of mixed5b; softmax2 is the softmax of the logits; post-ReLU layers are ≥ 0.
  CHECK(torch::allclose(out.at("avgpool0").flatten(), out.at("mixed5b").mean({2, 3}).flatten(), 1e-5, 1e-6));
  CHECK(torch::allclose(out.at("softmax2").flatten(), torch::softmax(logits, 1).flatten()));
  CHECK(out.at("softmax2").sum().item<float>() == Approx(1.0f).epsilon(1e-5));
  CHECK(out.at("mixed4c").min().item<float>() >= 0.0f);
  CHECK(out.at("mixed4c").max().item<float>() > 0.0f);
  // mixed blocks concatenate their four branches, so their maps are wider than their input.
  CHECK(out.at("mixed3a").size(1) == 64 + 128 + 32 + 32);
}

TEST_CASE("inception_v1: input range [-117, 138], SAME padding and ReLU in conv2d0", "[inception]") {
  auto& model = shared_model();
  torch::NoGradGuard no_grad;
  const auto x = seeded_uniform({1, 3, 224, 224}, 2);
  const auto out = model.features(x, {"conv2d0"});
  REQUIRE(out.size() == 1);
  torch::Tensor weight, bias;
  for (const auto& [name, t] : model.named_parameters()) {
    if (name == "conv2d0_pre_relu_conv.weight") weight = t;
    if (name == "conv2d0_pre_relu_conv.bias") bias = t;
  }
  REQUIRE(weight.defined());
  // Output (i, j) sees input rows/cols 2i−2 … 2i+4 (SAME: 2 before, 3 after).
  const auto scaled = x * 255.0 - 117.0;
  for (auto [i, j, c] : {std::array<int, 3>{10, 20, 5}, {0, 0, 7}, {111, 111, 63}, {55, 3, 0}}) {
    double s = bias[c].item<double>();
    for (int ch = 0; ch < 3; ++ch)
      for (int dy = 0; dy < 7; ++dy)
        for (int dx = 0; dx < 7; ++dx) {
          const int y = 2 * i - 2 + dy, xx = 2 * j - 2 + dx;
          if (y < 0 || y >= 224 || xx < 0 || xx >= 224) continue;
          s += weight[c][ch][dy][dx].item<double>() * scaled[0][ch][y][xx].item<double>();
        }
    INFO("channel " << c << " at " << i << "," << j);
    CHECK(out.at("conv2d0")[0][c][i][j].item<double>() == Approx(std::max(s, 0.0)).margin(1e-3).epsilon(1e-4));
  }
}

TEST_CASE("inception_v1: local response normalisation in TF's and lucent's forms", "[inception]") {
  const auto x = seeded_normal({1, 20, 2, 3}, 9) * 40.0;
  for (auto form : {actatlas::lrn_form::tensorflow, actatlas::lrn_form::lucent}) {
    const auto y = actatlas::detail::local_response_norm(x, form);
    const int radius = form == actatlas::lrn_form::tensorflow ? 5 : 4;
    const double bias = form == actatlas::lrn_form::tensorflow ? 2.0 : 1.0;
    const double alpha = form == actatlas::lrn_form::tensorflow ? 1e-4 : 1e-4 / 9;
    for (int c = 0; c < 20; ++c) {
      double sq = 0;
      for (int d = std::max(0, c - radius); d <= std::min(19, c + radius); ++d) sq += std::pow(x[0][d][1][2].item<double>(), 2);
      const double expect = x[0][c][1][2].item<double>() / std::sqrt(bias + alpha * sq);
      CHECK(y[0][c][1][2].item<double>() == Approx(expect).epsilon(1e-5));
    }
  }
}

TEST_CASE("inception_v1: features() stops early and matches forward()", "[inception]") {
  auto& model = shared_model();
  torch::NoGradGuard no_grad;
  const auto x = seeded_uniform({2, 3, 224, 224}, 3);
  const auto early = model.features(x, {"mixed3b", "conv2d1"});
  CHECK(early.size() == 2);
  CHECK(early.count("logits") == 0);
  const auto full = model.forward(x, {"mixed3b"});
  CHECK(torch::equal(early.at("mixed3b"), full.at("mixed3b")));
  CHECK(full.at("logits").size(0) == 2);
  CHECK(model.features(x, {}).empty());
  // Batch rows are independent.
  const auto one = model.features(x.slice(0, 1, 2), {"mixed3b"});
  CHECK(torch::allclose(one.at("mixed3b")[0], early.at("mixed3b")[1], 1e-4, 1e-4));
}

TEST_CASE("inception_v1: unknown layers and bad inputs are input_errors", "[inception]") {
  auto& model = shared_model();
  const auto x = torch::zeros({1, 3, 224, 224});
  const auto msg = error_of([&] { (void)model.forward(x, {"mixed9z"}); });
  CHECK(msg.find("mixed9z") != std::string::npos);
  CHECK(msg.find("mixed4c") != std::string::npos);  // lists the layers there are
  CHECK(msg.find("localresponsenorm1") != std::string::npos);
  CHECK(error_of([&] { (void)model.forward(torch::zeros({1, 1, 224, 224}), {}); }).find("[1, 1, 224, 224]") != std::string::npos);
  CHECK(error_of([&] { inception_v1 m(inception_v1::random_init{0}, {.class_names = {"a", "b"}}); }).find("1008") !=
        std::string::npos);
}

TEST_CASE("inception_v1: lucent's parameter names and shapes; seeded initialisation", "[inception]") {
  auto& model = shared_model();
  const auto params = model.named_parameters();
  CHECK(params.size() == 116);  // 57 convolutions + 1 linear, weight and bias each
  std::map<std::string, std::vector<std::int64_t>> shapes;
  std::int64_t total = 0;
  for (const auto& [name, t] : params) {
    shapes[name] = t.sizes().vec();
    total += t.numel();
  }
  using v = std::vector<std::int64_t>;
  CHECK(shapes.at("conv2d0_pre_relu_conv.weight") == v{64, 3, 7, 7});
  CHECK(shapes.at("conv2d2_pre_relu_conv.weight") == v{192, 64, 3, 3});
  CHECK(shapes.at("mixed3a_pool_reduce_pre_relu_conv.weight") == v{32, 192, 1, 1});
  CHECK(shapes.at("mixed4a_3x3_pre_relu_conv.weight") == v{204, 96, 3, 3});
  CHECK(shapes.at("mixed4a_5x5_bottleneck_pre_relu_conv.bias") == v{16});
  CHECK(shapes.at("mixed5b_5x5_pre_relu_conv.weight") == v{128, 48, 5, 5});
  CHECK(shapes.at("softmax2_pre_activation_matmul.weight") == v{1008, 1024});
  CHECK(shapes.at("softmax2_pre_activation_matmul.bias") == v{1008});
  CHECK(params.front().first == "conv2d0_pre_relu_conv.weight");  // lucent's registration order
  CHECK(params.back().first == "softmax2_pre_activation_matmul.bias");
  CHECK(total == 7066380);  // sum(p.numel() for p in lucent InceptionV1().parameters())

  inception_v1 same(inception_v1::random_init{42}), other(inception_v1::random_init{43});
  CHECK(torch::equal(same.named_parameters()[10].second, params[10].second));
  CHECK_FALSE(torch::equal(other.named_parameters()[10].second, params[10].second));
}

TEST_CASE("inception_v1: safetensors round trip gives identical logits", "[inception]") {
  temp_dir dir;
  const fs::path file = dir.path / "inceptionv1.safetensors";
  auto& model = shared_model();
  model.save_safetensors(file);
  CHECK(inception_v1::accepts(file));
  CHECK_FALSE(inception_v1::accepts(dir.path / "model.pt"));

  inception_v1 loaded(file, torch::kCPU);
  CHECK(loaded.info().class_names == model.info().class_names);
  torch::NoGradGuard no_grad;
  const auto x = seeded_uniform({1, 3, 224, 224}, 4);
  CHECK(torch::equal(loaded.forward(x, {})["logits"], model.forward(x, {})["logits"]));

  // Class names come from the file's metadata unless options override them.
  std::vector<std::string> names;
  for (int c = 0; c < 1008; ++c) names.push_back("label " + std::to_string(c));
  inception_v1 named(inception_v1::random_init{1}, {.class_names = names});
  named.save_safetensors(dir.path / "named.safetensors");
  CHECK(inception_v1(dir.path / "named.safetensors").info().class_names[1007] == "label 1007");
}

TEST_CASE("inception_v1: a missing, extra or mis-shaped tensor names the tensor", "[inception]") {
  temp_dir dir;
  auto& model = shared_model();
  const auto params = model.named_parameters();
  // Writes the model's weights, dropping `skip`, reshaping `reshape`, adding `extra`.
  auto write = [&](const fs::path& p, const std::string& skip, const std::string& reshape, const std::string& extra) {
    actatlas::io::safetensors_writer w;
    for (const auto& [name, t] : params) {
      if (name == skip) continue;
      const auto c = t.detach().contiguous();
      auto shape = c.sizes().vec();
      if (name == reshape) shape = {shape[0], c.numel() / shape[0]};
      w.add(name, shape, c.data_ptr<float>());
    }
    if (!extra.empty()) w.add(extra, {2}, std::vector<float>{1, 2});
    w.write(p);
  };
  const auto missing = dir.path / "missing.safetensors";
  write(missing, "mixed4d_3x3_pre_relu_conv.weight", "", "");
  auto msg = error_of([&] { inception_v1 m(missing); });
  CHECK(msg.find(missing.string()) != std::string::npos);
  CHECK(msg.find("missing tensor 'mixed4d_3x3_pre_relu_conv.weight'") != std::string::npos);

  const auto extra = dir.path / "extra.safetensors";
  write(extra, "", "", "head0_bottleneck_pre_relu_conv.weight");
  msg = error_of([&] { inception_v1 m(extra); });
  CHECK(msg.find("unexpected tensor 'head0_bottleneck_pre_relu_conv.weight'") != std::string::npos);

  const auto shaped = dir.path / "shaped.safetensors";
  write(shaped, "", "conv2d1_pre_relu_conv.weight", "");
  msg = error_of([&] { inception_v1 m(shaped); });
  CHECK(msg.find("'conv2d1_pre_relu_conv.weight' has shape [64, 64], InceptionV1 expects [64, 64, 1, 1]") != std::string::npos);

  const auto corrupt = dir.path / "corrupt.safetensors";
  fs::copy_file(missing, corrupt);
  fs::resize_file(corrupt, fs::file_size(corrupt) - 100);  // truncated download
  msg = error_of([&] { inception_v1 m(corrupt); });
  CHECK(msg.find(corrupt.string()) != std::string::npos);
  CHECK(msg.find("past the data section") != std::string::npos);
}

TEST_CASE("inception_v1: the max-pool relaxation changes gradients, not values", "[inception][pool_gradient]") {
  const auto x = seeded_uniform({1, 3, 224, 224}, 5);
  // Fraction of mixed3b entries whose gradient (of one logit) is non-zero, and the logits.
  auto probe = [&](pool_gradient g) {
    inception_v1& model = shared_model();
    model.set_max_pool_gradient(g);
    const auto out = model.forward(x, {"mixed3b"});
    const auto& h = out.at("mixed3b");
    const auto grad = torch::autograd::grad({out.at("logits")[0][7]}, {h})[0];
    model.set_max_pool_gradient(pool_gradient::exact);
    const double nonzero = (grad != 0).to(torch::kFloat64).mean().item<double>();
    const double positive = (h > 0).to(torch::kFloat64).mean().item<double>();
    return std::tuple{nonzero, positive, out.at("logits").detach()};
  };
  const auto [exact_nz, positive, exact_logits] = probe(pool_gradient::exact);
  const auto [l2_nz, positive2, l2_logits] = probe(pool_gradient::l2_relaxation);
  const auto [avg_nz, positive3, avg_logits] = probe(pool_gradient::avg_relaxation);
  INFO("exact " << exact_nz << ", l2 " << l2_nz << ", avg " << avg_nz << ", positive " << positive);
  // mixed3b reaches the logits only through maxpool4 (3×3, stride 2: at most one arg-max
  // per output, ≤ 14·14 of 28·28 positions) and mixed4a's pool branch... which reads maxpool4.
  CHECK(exact_nz <= 0.25 + 1e-9);
  // l2: every positive entry gets gradient (zeros get none: d|x|/dx = 0 at 0 in torch).
  CHECK(l2_nz > 0.95 * positive);
  CHECK(l2_nz > exact_nz * 1.5);
  // avg: every entry.
  CHECK(avg_nz > 0.99);
  CHECK(torch::allclose(l2_logits, exact_logits, 1e-4, 1e-3));
  CHECK(torch::allclose(avg_logits, exact_logits, 1e-4, 1e-3));
}

TEST_CASE("inception_v1: gradients reach the input and the returned layers, not the weights", "[inception]") {
  auto& model = shared_model();
  for (const auto& [name, t] : model.named_parameters()) REQUIRE_FALSE(t.requires_grad());
  // Towards the input (feature inversion optimises the image).
  auto x = seeded_uniform({1, 3, 224, 224}, 8).requires_grad_(true);
  auto out = model.forward(x, {"mixed4a"});
  const auto gx = torch::autograd::grad({out.at("logits")[0][5]}, {x})[0];
  CHECK(gx.abs().sum().item<double>() > 0);
  // Towards a layer when the input is a constant: the layer is a leaf of the graph.
  out = model.forward(x.detach(), {"mixed4a", "mixed4d"});
  CHECK(out.at("mixed4a").requires_grad());
  const auto g = torch::autograd::grad({out.at("logits")[0][5]}, {out.at("mixed4a"), out.at("mixed4d")});
  CHECK(g[0].abs().sum().item<double>() > 0);
  CHECK(g[1].abs().sum().item<double>() > 0);
  // Under NoGradGuard nothing is recorded.
  torch::NoGradGuard no_grad;
  CHECK_FALSE(model.forward(x.detach(), {"mixed4a"}).at("mixed4a").requires_grad());
}

TEST_CASE("inception_v1: the relaxation works with the double-backward attribution trick", "[inception][pool_gradient]") {
  // attr_c = h_p · ∂logit_c/∂h_p for all c in one extra pass: g(u) = ∂(logits·u)/∂h with
  // the graph kept, then ∂(g·dir)/∂u. It must equal explicit per-class backward passes
  // through the relaxed pools (and differ from the exact pools' attribution).
  inception_v1 model(inception_v1::random_init{42}, {.max_pool_gradient = pool_gradient::l2_relaxation});
  const auto x = seeded_uniform({1, 3, 224, 224}, 9);
  auto out = model.forward(x, {"mixed4b"});
  const auto& h = out.at("mixed4b");
  const auto& logits = out.at("logits");
  auto dir = torch::zeros_like(h);
  dir.select(2, 6).select(2, 9).copy_(h.detach().select(2, 6).select(2, 9));  // h at position (6, 9)
  auto u = torch::zeros_like(logits).requires_grad_(true);
  const auto g = torch::autograd::grad({(logits * u).sum()}, {h}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  const auto attr = torch::autograd::grad({(g * dir).sum()}, {u}, {}, /*retain_graph=*/true)[0];
  for (int c : {0, 17, 500, 1007}) {
    const auto gc = torch::autograd::grad({logits[0][c]}, {h}, {}, /*retain_graph=*/true)[0];
    const double explicit_attr = (gc * dir).sum().item<double>();
    INFO("class " << c);
    CHECK(attr[0][c].item<double>() == Approx(explicit_attr).epsilon(1e-4).margin(1e-6 * attr.abs().max().item<double>()));
  }
  model.set_max_pool_gradient(pool_gradient::exact);
  const auto out_exact = model.forward(x, {"mixed4b"});
  const auto g_exact = torch::autograd::grad({out_exact.at("logits")[0][17]}, {out_exact.at("mixed4b")})[0];
  CHECK((g_exact * dir).sum().item<double>() != Approx(attr[0][17].item<double>()).epsilon(1e-3));
}

TEST_CASE("inception_v1: the same results on the GPU", "[inception][cuda]") {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA device; skipped");
    return;
  }
  inception_v1 model(inception_v1::random_init{42});
  torch::NoGradGuard no_grad;
  const auto x = seeded_uniform({2, 3, 224, 224}, 6);
  const auto cpu = model.forward(x, {"mixed4c"});
  model.to(torch::kCUDA);
  CHECK(model.device().is_cuda());
  const auto gpu = model.forward(x.to(torch::kCUDA), {"mixed4c"});
  CHECK(gpu.at("mixed4c").device().is_cuda());
  const auto scale = cpu.at("logits").abs().max().item<double>();
  CHECK((gpu.at("logits").cpu() - cpu.at("logits")).abs().max().item<double>() < 1e-3 * scale + 1e-3);
}

TEST_CASE("inception_v1: the relaxed max-pool gradient on the GPU equals the CPU's", "[inception][cuda][pool_gradient]") {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA device; skipped");
    return;
  }
  inception_v1 model(inception_v1::random_init{42}, {.max_pool_gradient = pool_gradient::l2_relaxation});
  const auto x = seeded_uniform({1, 3, 224, 224}, 7);
  auto grad_at = [&](torch::Device d) {
    model.to(d);
    const auto out = model.forward(x.to(d), {"mixed3b"});
    return torch::autograd::grad({out.at("logits")[0][3]}, {out.at("mixed3b")})[0].cpu();
  };
  const auto cpu = grad_at(torch::kCPU);
  REQUIRE(cpu.norm().item<double>() > 0);
  auto relative = [&](const torch::Tensor& g) { return ((g - cpu).norm() / cpu.norm()).item<double>(); };
  // cuDNN convolutions run in TF32 by default (10-bit mantissa): compare in full float32,
  // and report the TF32 difference too.
  auto& context = at::globalContext();
  const bool tf32 = context.allowTF32CuDNN();
  context.setAllowTF32CuDNN(false);
  const double fp32_error = relative(grad_at(torch::kCUDA));
  context.setAllowTF32CuDNN(true);
  const double tf32_error = relative(grad_at(torch::kCUDA));
  context.setAllowTF32CuDNN(tf32);
  WARN("relative L2 difference of d logit/d mixed3b, GPU vs CPU: float32 " << fp32_error << ", TF32 " << tf32_error);
  // Measured on an H200: float32 1.0e-3, TF32 9e-2 (random weights; ReLU and arg-max
  // flips of near-ties dominate). A wrong relaxation on the GPU would differ by O(1).
  CHECK(fp32_error < 1e-2);
}

TEST_CASE("inception_v1: weights from tools/export_inceptionv1.py (ACTATLAS_INCEPTIONV1)", "[inception][weights]") {
  // Set ACTATLAS_INCEPTIONV1 to a file written by the export script (real weights, or
  // `--random SEED` ones) to check the script's output against this loader.
  const char* path = std::getenv("ACTATLAS_INCEPTIONV1");
  if (!path) {
    WARN("ACTATLAS_INCEPTIONV1 not set; skipped");
    return;
  }
  inception_v1 model{fs::path(path)};
  CHECK(model.named_parameters().size() == 116);
  torch::NoGradGuard no_grad;
  const auto out = model.forward(torch::full({1, 3, 224, 224}, 0.5f), {"mixed4c"});
  CHECK(out.at("logits").sizes() == torch::IntArrayRef({1, 1008}));
  CHECK(torch::isfinite(out.at("logits")).all().item<bool>());
  CHECK(out.at("mixed4c").sizes() == torch::IntArrayRef({1, 512, 14, 14}));

  // With ACTATLAS_INCEPTIONV1_REFERENCE (reference.json from tools/inceptionv1_reference.py,
  // made with the same weights): logits and layer sums equal a PyTorch forward written
  // after lucent's, under both LRN forms.
  const char* reference_path = std::getenv("ACTATLAS_INCEPTIONV1_REFERENCE");
  if (!reference_path) return;
  std::ifstream in(reference_path);
  REQUIRE(in);
  const auto reference = nlohmann::json::parse(in);
  auto x = torch::empty({1, 3, 224, 224});
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 224; ++i)
      for (int j = 0; j < 224; ++j) x[0][c][i][j] = static_cast<float>(((7 * i + 13 * j + 29 * c) % 256) / 255.0);
  std::vector<std::string> layers;
  for (const auto& l : model.info().layers)
    if (l.name != "avgpool0" && l.name != "softmax2") layers.push_back(l.name);
  for (auto form : {actatlas::lrn_form::tensorflow, actatlas::lrn_form::lucent}) {
    const std::string key = form == actatlas::lrn_form::tensorflow ? "tensorflow" : "lucent";
    INFO("LRN form " << key);
    inception_v1 m{fs::path(path), torch::kCPU, {.lrn = form}};
    const auto got = m.forward(x, layers);
    const auto expect = reference["forms"][key];
    const auto want = torch::tensor(expect["logits"].get<std::vector<float>>());
    const auto logits = got.at("logits")[0];
    const double scale = want.abs().max().item<double>();
    const double worst = (logits - want).abs().max().item<double>();
    INFO("max |logit| " << scale << ", max difference " << worst);
    CHECK(worst <= 1e-4 * scale + 1e-4);
    CHECK(logits.argmax().item<std::int64_t>() == want.argmax().item<std::int64_t>());
    for (const auto& l : layers) {
      INFO(l);
      const double want_sum = expect["sums"][l].get<double>();
      CHECK(got.at(l).to(torch::kFloat64).sum().item<double>() == Approx(want_sum).epsilon(1e-4));
    }
  }
}

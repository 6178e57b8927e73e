// The demo CNN: training reaches a stated held-out accuracy, the file reloads to identical
// logits, the same seed gives the same weights, and the classifier interface holds.
#include <catch2/catch.hpp>

#include <actatlas/io/remove_tree.hpp>
#include <actatlas/torch/demo_model.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

fs::path scratch_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("actatlas-demo-model-test-" + name + "-" + std::to_string(::getpid()));
  actatlas::io::remove_tree(dir);
  fs::create_directories(dir);
  return dir;
}

//! A budget small enough for the suite: narrower layers, fewer and smaller batches.
actatlas::demo_model_options small_budget() {
  actatlas::demo_model_options o;
  o.widths = {8, 16, 32, 32};
  o.steps = 150;
  o.batch_size = 32;
  o.learning_rate = 6e-3;
  o.heldout_per_class = 24;
  o.threads = 1;  // one thread wastes no time waiting for a descheduled sibling on a busy machine
  return o;
}

actatlas::demo_model_options tiny_budget() {
  actatlas::demo_model_options o;
  o.widths = {4, 8, 8, 8};
  o.steps = 6;
  o.batch_size = 16;
  o.heldout_per_class = 2;
  o.threads = 1;
  return o;
}

bool same_parameters(actatlas::demo_model& a, actatlas::demo_model& b) {
  const auto pa = a.network()->named_parameters(), pb = b.network()->named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& item : pa)
    if (!torch::equal(item.value(), pb[item.key()])) return false;
  const auto ba = a.network()->named_buffers(), bb = b.network()->named_buffers();
  for (const auto& item : ba)
    if (!torch::equal(item.value(), bb[item.key()])) return false;
  return true;
}

//! Fraction of `per_class` images of every class drawn with `seed` whose largest logit is
//! their class: the images made by the generator one at a time, the arg max found by a loop.
double independent_accuracy(actatlas::demo_model& model, std::uint64_t seed, int per_class) {
  REQUIRE(seed != actatlas::detail::demo_train_seed(small_budget().seed));
  REQUIRE(seed != actatlas::detail::demo_heldout_seed(small_budget().seed));
  const int size = actatlas::demo::default_image_size;
  const auto classes = static_cast<std::int64_t>(actatlas::demo::class_count());
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(size * size * 3));
  torch::NoGradGuard no_grad;
  std::int64_t correct = 0, total = 0;
  for (std::int64_t c = 0; c < classes; ++c) {
    auto batch = torch::empty({per_class, 3, size, size});
    for (int j = 0; j < per_class; ++j) {
      actatlas::demo::generate_into(rgb.data(), static_cast<std::size_t>(c), seed, static_cast<std::uint64_t>(j), size);
      auto image = batch[j];
      auto a = image.accessor<float, 3>();
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x)
          for (int ch = 0; ch < 3; ++ch) a[ch][y][x] = rgb[static_cast<std::size_t>((y * size + x) * 3 + ch)] / 255.0f;
    }
    const auto logits = model.forward(batch, {}).at("logits").contiguous();
    REQUIRE(logits.size(1) == classes);
    const auto l = logits.accessor<float, 2>();
    for (int j = 0; j < per_class; ++j) {
      std::int64_t best = 0;
      for (std::int64_t k = 1; k < classes; ++k)
        if (l[j][k] > l[j][best]) best = k;
      correct += best == c;
      ++total;
    }
  }
  return static_cast<double>(correct) / static_cast<double>(total);
}

}  // namespace

TEST_CASE("a small-budget demo model reaches 80% held-out accuracy", "[demo-model]") {
  const auto model = actatlas::train_demo_model(small_budget());
  const auto& meta = model->metadata();
  const double accuracy = meta.at("heldout_accuracy").get<double>();
  INFO("held-out accuracy " << accuracy << " in " << meta.at("train_seconds").get<double>() << " s");
  // 150 steps of 32 images; chance is 1/16. The full budget (500 steps of 48) reaches ≥ 90%,
  // which `actatlas train-demo` reports; the suite checks this cheaper bound.
  CHECK(accuracy >= 0.80);
  CHECK(meta.at("per_class_accuracy").size() == actatlas::demo::class_count());
  // Checked independently of demo_accuracy: other held-out images (a seed that is neither
  // the training stream's nor the stored measurement's), generated one by one and counted
  // with a plain loop over the model's logits. Another sample of 384 images: the two
  // accuracies agree to sampling error (binomial σ ≈ 0.02 at 0.85).
  const int per_class = 24;
  const auto independent = independent_accuracy(*model, 0xACC0CAFEull, per_class);
  INFO("independent held-out accuracy " << independent << " on " << per_class * actatlas::demo::class_count() << " other images");
  CHECK(independent >= 0.75);
  CHECK(std::abs(independent - accuracy) <= 0.08);
}

TEST_CASE("the demo model file reloads to identical logits and layers", "[demo-model]") {
  const auto dir = scratch_dir("reload");
  auto model = actatlas::train_demo_model(tiny_budget());
  const auto path = dir / "model.pt";
  actatlas::save_demo_model(*model, path);
  REQUIRE(actatlas::is_demo_model_file(path));
  auto loaded = actatlas::load_demo_model(path);
  CHECK(loaded->info().class_names == model->info().class_names);
  CHECK(loaded->info().input_height == 64);
  REQUIRE(loaded->info().layers.size() == 4);
  CHECK(loaded->info().layers[2].name == "conv3");
  CHECK(loaded->info().layers[2].channels == 8);
  CHECK(loaded->metadata().at("heldout_accuracy") == model->metadata().at("heldout_accuracy"));
  torch::NoGradGuard no_grad;
  const auto [x, y] = actatlas::detail::demo_batch(123, 0, 8, 64);
  const auto a = model->forward(x, {"conv2", "conv4"});
  const auto b = loaded->forward(x, {"conv2", "conv4"});
  CHECK(torch::equal(a.at("logits"), b.at("logits")));
  CHECK(torch::equal(a.at("conv4"), b.at("conv4")));
  CHECK(a.at("conv2").sizes() == torch::IntArrayRef({8, 8, 32, 32}));
  CHECK(a.at("conv4").sizes() == torch::IntArrayRef({8, 8, 8, 8}));
  CHECK(a.count("conv1") == 0);

  // A file that is not a demo model is refused with its name.
  const auto junk = dir / "junk.pt";
  actatlas::io::atomic_write(junk, [](std::ostream& out) { out << "not a model"; });
  CHECK_FALSE(actatlas::is_demo_model_file(junk));
  CHECK_THROWS_WITH(actatlas::load_demo_model(junk), Catch::Contains("junk.pt"));
  CHECK_THROWS_AS(actatlas::load_demo_model(dir / "missing.pt"), actatlas::input_error);
  actatlas::io::remove_tree(dir);
}

TEST_CASE("the same seed gives the same demo weights, another seed other weights", "[demo-model]") {
  auto a = actatlas::train_demo_model(tiny_budget());
  auto b = actatlas::train_demo_model(tiny_budget());
  CHECK(same_parameters(*a, *b));
  auto other = tiny_budget();
  other.seed = 2;
  auto c = actatlas::train_demo_model(other);
  CHECK_FALSE(same_parameters(*a, *c));
}

TEST_CASE("load_or_train_demo_model trains once, then reuses the cached file", "[demo-model]") {
  const auto dir = scratch_dir("cache");
  bool trained = false;
  auto first = actatlas::load_or_train_demo_model(dir, tiny_budget(), {}, false, &trained);
  CHECK(trained);
  REQUIRE(fs::exists(dir / actatlas::demo_model_file_name(tiny_budget())));
  auto second = actatlas::load_or_train_demo_model(dir, tiny_budget(), {}, false, &trained);
  CHECK_FALSE(trained);
  CHECK(same_parameters(*first, *second));
  // Other options under the same file name: retrained rather than silently reused.
  auto longer = tiny_budget();
  longer.steps += 1;
  auto third = actatlas::load_or_train_demo_model(dir, longer, {}, false, &trained);
  CHECK(trained);
  actatlas::io::remove_tree(dir);
}

TEST_CASE("the demo model checks its input and names the layers it has", "[demo-model]") {
  auto model = actatlas::train_demo_model(tiny_budget());
  const auto x = torch::rand({2, 3, 64, 64});
  CHECK_THROWS_WITH(model->forward(x, {"mixed4c"}), Catch::Contains("conv1") && Catch::Contains("conv4"));
  CHECK_THROWS_AS(model->forward(torch::rand({2, 1, 64, 64}), {}), actatlas::input_error);
  // Gradients flow to the input when the caller wants them (feature inversion needs this).
  auto input = x.clone().requires_grad_(true);
  model->forward(input, {"conv3"}).at("conv3").sum().backward();
  CHECK(input.grad().abs().sum().item<float>() > 0);
  CHECK(model->device() == torch::Device(torch::kCPU));
}

TEST_CASE("the demo model's features() stops at the deepest asked layer and matches forward()", "[demo-model]") {
  auto model = actatlas::train_demo_model(tiny_budget());
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({3, 3, 64, 64});
  const auto full = model->forward(x, {"conv2", "conv3"});
  const auto early = model->features(x, {"conv3", "conv2"});
  CHECK(early.size() == 2);
  CHECK(early.count("logits") == 0);
  CHECK(torch::equal(early.at("conv2"), full.at("conv2")));
  CHECK(torch::equal(early.at("conv3"), full.at("conv3")));
  CHECK(model->features(x, {}).empty());
  // A 1×1 image goes through conv1 but not through the 2×2 max-pool before conv2: only a
  // pass that really stops after conv1 returns it.
  const auto pixel = torch::rand({2, 3, 1, 1});
  const auto width = model->info().layers[0].channels;
  CHECK(model->features(pixel, {"conv1"}).at("conv1").sizes() == torch::IntArrayRef({2, width, 1, 1}));
  CHECK_THROWS(model->forward(pixel, {"conv1"}));
  CHECK_THROWS_WITH(model->features(x, {"conv9"}), Catch::Contains("conv4"));
}

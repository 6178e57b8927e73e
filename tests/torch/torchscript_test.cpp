// TorchScript classifiers: save a real archive built in C++, load it through load_model,
// check the metadata, the outputs and every kind of bad file.
#include <catch2/catch.hpp>

#include <actatlas/io/image_folder.hpp>
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/image_batches.hpp>
#include <actatlas/torch/load_model.hpp>
#include <actatlas/torch/torchscript_model.hpp>

#include "model_fixtures.hpp"

using Catch::Matchers::Contains;

TEST_CASE("torchscript: a saved archive loads with its metadata and the module's outputs", "[torchscript]") {
  const auto dir = fixtures::scratch("torchscript-roundtrip");
  const auto path = fixtures::save_tiny_net(dir / "tiny.pt", 5);
  auto model = actatlas::load_model(path, torch::kCPU);
  REQUIRE(dynamic_cast<actatlas::torchscript_model*>(model.get()) != nullptr);

  const auto& info = model->info();
  REQUIRE(info.input_height == 16);
  REQUIRE(info.input_width == 16);
  REQUIRE(info.class_names == std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g"});
  REQUIRE(info.layers.size() == 2);
  REQUIRE(info.layers[0].name == "block1");
  REQUIRE(info.layers[0].channels == 4);
  REQUIRE(info.layers[1].name == "block2");
  REQUIRE(info.layers[1].channels == 6);

  torch::manual_seed(3);
  const auto x = torch::rand({2, 3, 16, 16});
  torch::NoGradGuard no_grad;
  const auto out = model->forward(x, {"block2"});
  REQUIRE(out.size() == 2);
  REQUIRE(out.at("logits").sizes() == torch::IntArrayRef{2, 7});
  REQUIRE(out.at("block2").sizes() == torch::IntArrayRef{2, 6, 8, 8});
  // The same numbers as the module run directly (what was saved is what runs).
  auto reference = fixtures::tiny_net(5).forward({x}).toGenericDict();
  REQUIRE(torch::allclose(out.at("logits"), reference.at("logits").toTensor(), 1e-5, 1e-6));
  REQUIRE(torch::allclose(out.at("block2"), reference.at("block2").toTensor(), 1e-5, 1e-6));
  // Another seed gives another network: the file really carries the weights.
  auto other = fixtures::tiny_net(6).forward({x}).toGenericDict();
  REQUIRE_FALSE(torch::allclose(out.at("logits"), other.at("logits").toTensor(), 1e-3, 1e-3));
}

TEST_CASE("torchscript: an unknown layer lists the layers there are", "[torchscript]") {
  const auto dir = fixtures::scratch("torchscript-layers");
  auto model = actatlas::load_model(fixtures::save_tiny_net(dir / "tiny.pt"), torch::kCPU);
  REQUIRE_THROWS_WITH(model->forward(torch::rand({1, 3, 16, 16}), {"mixed4d"}),
                      Contains("no layer 'mixed4d'") && Contains("block1, block2"));
}

TEST_CASE("torchscript: features() runs the archive's early-stopping method, checked against forward at load",
          "[torchscript]") {
  const auto dir = fixtures::scratch("torchscript-features");
  torch::manual_seed(4);
  const auto x = torch::rand({2, 3, 16, 16});
  // A 1×1 image passes block1 but not the 2×2 max-pool after it: only a pass that stops
  // after block1 returns it.
  const auto pixel = torch::rand({2, 3, 1, 1});
  torch::NoGradGuard no_grad;

  SECTION("a file with the method: features() stops early, same values as forward") {
    auto model = actatlas::load_model(
        fixtures::save_tiny_net(dir / "early.pt", 5, fixtures::tiny_net_metadata, fixtures::tiny_features::exact),
        torch::kCPU);
    auto& ts = dynamic_cast<actatlas::torchscript_model&>(*model);
    CHECK(ts.stops_at_layer());
    const auto full = model->forward(x, {"block1", "block2"});
    const auto early = model->features(x, {"block2", "block1"});
    CHECK(early.size() == 2);
    CHECK(early.count("logits") == 0);
    CHECK(torch::allclose(early.at("block2"), full.at("block2"), 1e-6, 1e-7));
    CHECK(torch::allclose(early.at("block1"), full.at("block1"), 1e-6, 1e-7));
    CHECK(model->features(pixel, {"block1"}).at("block1").sizes() == torch::IntArrayRef({2, 4, 1, 1}));
    CHECK_THROWS_WITH(model->features(x, {"mixed4d"}), Contains("block1, block2"));
  }
  SECTION("a file without it (exported before it existed): forward without the logits") {
    auto model = actatlas::load_model(fixtures::save_tiny_net(dir / "old.pt", 5), torch::kCPU);
    CHECK_FALSE(dynamic_cast<actatlas::torchscript_model&>(*model).stops_at_layer());
    const auto early = model->features(x, {"block2"});
    CHECK(early.size() == 1);
    CHECK(torch::equal(early.at("block2"), model->forward(x, {"block2"}).at("block2")));
    // The whole network ran; the interpreter's error comes out as one line naming the file.
    CHECK_THROWS_WITH(model->features(pixel, {"block1"}),
                      Contains("old.pt: forward failed: RuntimeError: Given input size") && !Contains("\n"));
  }
  SECTION("a method that disagrees with forward is refused at load, naming the file and the layer") {
    const auto path =
        fixtures::save_tiny_net(dir / "wrong.pt", 5, fixtures::tiny_net_metadata, fixtures::tiny_features::wrong);
    REQUIRE_THROWS_WITH(actatlas::load_model(path, torch::kCPU),
                        Contains("wrong.pt") && Contains("block1") && Contains("differs from forward"));
  }
}

TEST_CASE("torchscript: bad files are input errors naming the file", "[torchscript]") {
  const auto dir = fixtures::scratch("torchscript-bad");
  SECTION("missing") {
    REQUIRE_THROWS_AS(actatlas::load_model(dir / "nothing.pt", torch::kCPU), actatlas::input_error);
    REQUIRE_THROWS_WITH(actatlas::load_model(dir / "nothing.pt", torch::kCPU), Contains("nothing.pt"));
  }
  SECTION("not a model at all") {
    fixtures::write_bytes(dir / "notes.pt", "just some text\n");
    REQUIRE_THROWS_WITH(actatlas::load_model(dir / "notes.pt", torch::kCPU),
                        Contains("notes.pt") && Contains("not a model file"));
  }
  SECTION("a zip that is not TorchScript") {
    fixtures::write_bytes(dir / "fake.pt", std::string("PK\x03\x04", 4) + std::string(200, 'x'));
    REQUIRE_THROWS_WITH(actatlas::load_model(dir / "fake.pt", torch::kCPU),
                        Contains("fake.pt") && Contains("TorchScript"));
  }
  SECTION("TorchScript without actatlas.json") {
    fixtures::save_tiny_net(dir / "bare.pt", 1, nullptr);
    REQUIRE_THROWS_WITH(actatlas::load_model(dir / "bare.pt", torch::kCPU),
                        Contains("bare.pt") && Contains("actatlas.json"));
  }
  SECTION("metadata that contradicts the module") {
    fixtures::save_tiny_net(dir / "liar.pt", 1, R"({"input_size": [16, 16], "layers": [{"name": "block1", "channels": 9}]})");
    REQUIRE_THROWS_WITH(actatlas::load_model(dir / "liar.pt", torch::kCPU),
                        Contains("liar.pt") && Contains("block1") && Contains("channels"));
    fixtures::save_tiny_net(dir / "ghost.pt", 1, R"({"input_size": 16, "layers": ["block1", "fc7"]})");
    REQUIRE_THROWS_WITH(actatlas::load_model(dir / "ghost.pt", torch::kCPU), Contains("fc7"));
    fixtures::save_tiny_net(dir / "classes.pt", 1, R"({"input_size": 16, "class_names": ["x"], "layers": []})");
    REQUIRE_THROWS_WITH(actatlas::load_model(dir / "classes.pt", torch::kCPU), Contains("7 logits"));
  }
  SECTION("metadata that is not JSON") {
    fixtures::save_tiny_net(dir / "json.pt", 1, "{not json");
    REQUIRE_THROWS_WITH(actatlas::load_model(dir / "json.pt", torch::kCPU), Contains("json.pt") && Contains("JSON"));
  }
}

TEST_CASE("torchscript: class names and channels default from the probe pass", "[torchscript]") {
  const auto dir = fixtures::scratch("torchscript-defaults");
  fixtures::save_tiny_net(dir / "min.pt", 1, R"({"input_size": 16, "layers": ["block2"]})");
  auto model = actatlas::load_model(dir / "min.pt", torch::kCPU);
  REQUIRE(model->info().class_names.size() == 7);
  REQUIRE(model->info().class_names[6] == "6");
  REQUIRE(model->info().layers.at(0).channels == 6);
}

TEST_CASE("device: auto, cpu, cuda", "[torchscript]") {
  REQUIRE(actatlas::pick_device("cpu") == torch::Device(torch::kCPU));
  REQUIRE(actatlas::pick_device("auto").is_cuda() == torch::cuda::is_available());
  if (!torch::cuda::is_available()) {
    REQUIRE_THROWS_AS(actatlas::pick_device("cuda"), actatlas::input_error);
  } else {
    REQUIRE(actatlas::pick_device("cuda").is_cuda());
  }
  REQUIRE_THROWS_WITH(actatlas::pick_device("tpu"), Contains("tpu") && Contains("auto, cpu or cuda"));
}

TEST_CASE("torchscript: an exported torchvision MobileNetV2 classifies real photos (skipped when absent)", "[torchscript]") {
  // Export first: tools/export_torchvision.py ... --out $ACTATLAS_REALDATA_MODEL (docs/models.md).
  const char* model_env = std::getenv("ACTATLAS_REALDATA_MODEL");
  const std::filesystem::path images = "/work/shared/realdata/images";
  if (!model_env || !std::filesystem::is_regular_file(model_env) || !std::filesystem::is_directory(images)) {
    WARN("SKIPPED: set ACTATLAS_REALDATA_MODEL to an exported MobileNetV2 and have ../shared/realdata");
    return;
  }
  auto model = actatlas::load_model(model_env, torch::kCPU);
  REQUIRE(model->info().class_names.size() == 1000);
  const auto files = actatlas::io::list_images(images);
  REQUIRE(files.size() == 1000);
  // Every 10th photo (file i is class i): 100 images.
  actatlas::image_batch_reader reader([&](std::uint64_t v) { return files[v * 10]; }, 0, 100, 224, 224,
                                      {.batch = 25, .threads = 1});
  int correct = 0, seen = 0;
  torch::NoGradGuard no_grad;
  while (auto b = reader.next()) {
    const auto logits = model->forward(b->pixels, {}).at("logits");
    const auto top1 = logits.argmax(1);
    for (std::size_t i = 0; i < b->visits.size(); ++i, ++seen)
      correct += top1[static_cast<std::int64_t>(i)].item<std::int64_t>() == static_cast<std::int64_t>(b->visits[i] * 10);
  }
  REQUIRE(seen == 100);
  WARN("MobileNetV2 top-1 on 100 real photos through actatlas's image pipeline: " << correct << "%");
  REQUIRE(correct >= 65);  // README: 80% over all 1000 with torchvision's padding
}

// A model's metadata is checked key by key (issue 18, item 1): a misspelt key is an error
// naming the file and the closest known key, not an atlas labelled by class indices. And a
// corrupt actatlas.json is reported in one printable line (item 2).
#include <catch2/catch.hpp>

#include <actatlas/io/safetensors.hpp>
#include <actatlas/torch/models.hpp>

#include <string>

#include "model_fixtures.hpp"

using Catch::Matchers::Contains;

TEST_CASE("model metadata: what tools/export_torchvision.py writes loads", "[metadata]") {
  const auto dir = fixtures::scratch("metadata-exporter");
  // Every key the exporter writes, informational ones included (format, source, input, map_size).
  fixtures::save_tiny_net(dir / "exported.pt", 1,
                          R"({"format": "actatlas-torchscript/1", "source": "torchvision.models.tiny",
                              "input_size": [16, 16],
                              "input": "float32 [B,3,H,W] RGB in [0,1]; normalised inside",
                              "class_names": ["a", "b", "c", "d", "e", "f", "g"],
                              "layers": [{"name": "block1", "channels": 4, "map_size": [16, 16]},
                                         {"name": "block2", "channels": 6, "map_size": [8, 8]}]})");
  const auto model = actatlas::open_model(dir / "exported.pt", torch::kCPU);
  CHECK(model->info().class_names.at(2) == "c");
  CHECK(model->info().layers.size() == 2);
}

TEST_CASE("model metadata: a misspelt key in actatlas.json names the file and the closest key", "[metadata]") {
  const auto dir = fixtures::scratch("metadata-misspelt");
  SECTION("\"classes\" for \"class_names\"") {
    fixtures::save_tiny_net(dir / "classes.pt", 1,
                            R"({"input_size": [16, 16], "classes": ["a", "b", "c", "d", "e", "f", "g"],
                                "layers": ["block1", "block2"]})");
    REQUIRE_THROWS_MATCHES(
        actatlas::open_model(dir / "classes.pt", torch::kCPU), actatlas::input_error,
        Catch::Matchers::Message((dir / "classes.pt").string() +
                                 ": actatlas.json: unknown key \"classes\" (closest: \"class_names\"; known keys: "
                                 "class_names, fixed_input_size, format, input, input_size, layers, source)"));
  }
  SECTION("\"inputsize\" for \"input_size\"") {
    fixtures::save_tiny_net(dir / "size.pt", 1, R"({"inputsize": 16, "layers": ["block1"]})");
    REQUIRE_THROWS_WITH(actatlas::open_model(dir / "size.pt", torch::kCPU),
                        Contains("size.pt") && Contains("unknown key \"inputsize\" (closest: \"input_size\""));
  }
  SECTION("\"channel\" in a layer") {
    fixtures::save_tiny_net(dir / "layer.pt", 1,
                            R"({"input_size": 16, "layers": [{"name": "block1", "channel": 4}]})");
    REQUIRE_THROWS_WITH(actatlas::open_model(dir / "layer.pt", torch::kCPU),
                        Contains("layer.pt: actatlas.json: layer 'block1': unknown key \"channel\" (closest: "
                                 "\"channels\"; known keys: channels, layout, leading_tokens, map_size, name, "
                                 "patch_grid)"));
  }
}

TEST_CASE("model metadata: an actatlas.json of binary bytes is one printable line", "[metadata]") {
  const auto dir = fixtures::scratch("metadata-binary");
  fixtures::save_tiny_net(dir / "binary.pt", 1, "\x89PNG\r\n\x1a\n\xff\xfe");
  std::string message;
  try {
    actatlas::open_model(dir / "binary.pt", torch::kCPU);
  } catch (const actatlas::input_error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK_THAT(message, Contains("binary.pt: actatlas.json is not valid JSON") && Contains("\\x89"));
  for (const char c : message) {
    const auto b = static_cast<unsigned char>(c);
    CHECK((b >= 0x20 && b < 0x7f));
  }
}

TEST_CASE("model metadata: a misspelt actatlas key in InceptionV1 weights names the file", "[metadata]") {
  const auto dir = fixtures::scratch("metadata-inception");
  const actatlas::inception_v1 net(actatlas::inception_v1::random_init{1});
  actatlas::io::safetensors_writer w;
  for (const auto& [key, value] : net.named_parameters()) {
    const auto t = value.contiguous();
    w.add(key, t.sizes().vec(), t.data_ptr<float>());
  }
  w.metadata("format", "pt");  // another tool's key: left alone
  w.metadata("actatlas.model", "inception_v1");
  w.metadata("actatlas.classnames", "[]");
  w.write(dir / "inception.safetensors");
  REQUIRE_THROWS_WITH(actatlas::open_model(dir / "inception.safetensors", torch::kCPU),
                      Contains("inception.safetensors: metadata: unknown key \"actatlas.classnames\" (closest: "
                               "\"actatlas.class_names\"; known keys: actatlas.class_names, actatlas.model, "
                               "actatlas.note)"));
}

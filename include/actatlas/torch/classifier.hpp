/// @file torch/classifier.hpp
/// The one interface every model behind an atlas implements, whatever it is made of:
/// a TorchScript file, the native InceptionV1, the demo CNN, or a user's own module.
/// It is a runtime interface (a virtual base) rather than a policy because the model
/// is chosen at run time, from a file named on the command line.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace actatlas {

//! How a layer's output is laid out. Everything after the model (sampling, attribution,
//! icons) works on a [B,D,h,w] map; layer_map() turns the other layouts into that map as a
//! view, so a vision transformer's patch tokens are sampled like a CNN's positions.
enum class layer_layout {
  channels_first,  //!< [B,D,h,w]: a CNN's feature map
  tokens,          //!< [B,T,D]: `leading_tokens` non-patch tokens (class token, registers), then the
                   //!< patch grid row by row, T = leading + grid_height × grid_width (ViT, DeiT, CLIP)
  channels_last,   //!< [B,h,w,D] (Swin)
};

inline std::string_view to_string(layer_layout l) {
  switch (l) {
    case layer_layout::channels_first: return "channels_first";
    case layer_layout::tokens: return "tokens";
    case layer_layout::channels_last: return "channels_last";
  }
  return "?";
}

//! One layer a model exposes: its name, its number of channels (D) and its layout.
struct layer_info {
  std::string name;
  std::int64_t channels = 0;
  layer_layout layout = layer_layout::channels_first;
  std::int64_t leading_tokens = 0;  //!< tokens: how many tokens precede the patch grid
  std::int64_t grid_height = 0;     //!< tokens: the patch grid (required); channels_last: 0 = as the tensor says
  std::int64_t grid_width = 0;
};

//! What the atlas needs to know about a model.
struct model_info {
  std::int64_t input_height = 224;        //!< the model's input size; images are resized and centre-cropped to it
  std::int64_t input_width = 224;
  //! The model accepts input_height × input_width only (a ViT's position embeddings):
  //! feature inversion resizes its images to that size whatever the icon size.
  bool fixed_input_size = false;
  std::vector<std::string> class_names;   //!< C names, index = logit
  std::vector<layer_info> layers;         //!< the layers that can be asked for, input to output
};

//! The result of a forward pass: "logits" ([B,C]) and each asked-for layer in its layout
//! (layer_info::layout); layer_map() gives the [B,D,h,w] view of a layer.
using layer_outputs = std::unordered_map<std::string, torch::Tensor>;

//! The [B,D,h,w] map of a layer's output `t` laid out as `layer` says: a view of `t`
//! (no copy), leading tokens dropped. Differentiating with respect to `t` and passing the
//! gradient through layer_map() gives the gradient at every map position (attribution.hpp).
//! A tensor of the wrong rank or token count is std::invalid_argument with its shape.
inline torch::Tensor layer_map(const layer_info& layer, const torch::Tensor& t) {
  auto shape = [&] {
    std::string s = "[";
    for (std::int64_t i = 0; i < t.dim(); ++i) {
      if (i) s += ',';
      s += std::to_string(t.size(i));
    }
    return s + ']';
  };
  switch (layer.layout) {
    case layer_layout::channels_first:
      if (t.dim() != 4) throw std::invalid_argument("layer '" + layer.name + "' must be [B,D,h,w], got " + shape());
      return t;
    case layer_layout::channels_last:
      if (t.dim() != 4 || (layer.grid_height > 0 && (t.size(1) != layer.grid_height || t.size(2) != layer.grid_width)))
        throw std::invalid_argument("layer '" + layer.name + "' must be channels-last [B," +
                                    (layer.grid_height > 0 ? std::to_string(layer.grid_height) + "," +
                                                                 std::to_string(layer.grid_width)
                                                           : std::string("h,w")) +
                                    ",D], got " + shape());
      return t.permute({0, 3, 1, 2});
    case layer_layout::tokens: {
      const auto patches = layer.grid_height * layer.grid_width;
      if (t.dim() != 3 || t.size(1) != layer.leading_tokens + patches)
        throw std::invalid_argument("layer '" + layer.name + "' must be tokens [B," +
                                    std::to_string(layer.leading_tokens + patches) + ",D] (" +
                                    std::to_string(layer.leading_tokens) + " leading + " +
                                    std::to_string(layer.grid_height) + "x" + std::to_string(layer.grid_width) +
                                    " patches), got " + shape());
      return t.narrow(1, layer.leading_tokens, patches)
          .unflatten(1, {layer.grid_height, layer.grid_width})
          .permute({0, 3, 1, 2});
    }
  }
  return t;
}

//! The layer called `name` in `info`; std::out_of_range when there is none (callers check
//! names first with detail::check_layers_exist, whose message lists the layers).
inline const layer_info& find_layer(const model_info& info, const std::string& name) {
  for (const auto& l : info.layers)
    if (l.name == name) return l;
  throw std::out_of_range("no layer '" + name + "'");
}

//! An image classifier seen by the atlas.
class classifier {
 public:
  virtual ~classifier() = default;

  //! Input size, class names, exposed layers.
  virtual const model_info& info() const = 0;

  //! Runs the network on `x` ([B,3,H,W] float32 RGB in [0,1], on device()); the model does
  //! its own normalisation. Returns "logits" and each layer in `layers`, as the network
  //! makes it (in its layer_info::layout: a token layer is [B,T,D], so that the returned
  //! tensor is the one the logits depend on and can be differentiated). Gradients flow
  //! when the caller has not disabled them. An unknown layer throws input_error whose
  //! message lists the layers there are.
  virtual layer_outputs forward(const torch::Tensor& x, const std::vector<std::string>& layers) = 0;

  //! Only the asked-for layers, without "logits": the pass may stop after the deepest of
  //! them, since nothing later can change them. Feature inversion runs this at every step,
  //! so a model that stops early makes icons cheaper (the demo CNN, InceptionV1 and
  //! TorchScript files with a `features` method do; docs/models.md). The default runs
  //! forward() and drops the logits: right for any model, at the full network's cost.
  virtual layer_outputs features(const torch::Tensor& x, const std::vector<std::string>& layers) {
    auto out = forward(x, layers);
    out.erase("logits");
    return out;
  }

  //! Moves the weights.
  virtual void to(torch::Device device) = 0;
  virtual torch::Device device() const = 0;

  //! Every tensor the outputs depend on (parameters and buffers, e.g. batch-norm
  //! statistics), by unique name, for model_fingerprint(): caches keyed on the fingerprint
  //! notice new weights under an old file name. Not pure, so that classifiers written
  //! before it keep compiling; the default lists nothing, and such a model has no
  //! fingerprint (model_fingerprint.hpp).
  virtual std::vector<std::pair<std::string, torch::Tensor>> named_state() const { return {}; }
};

}  // namespace actatlas

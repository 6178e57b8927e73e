/// @file torch/classifier.hpp
/// The one interface every model behind an atlas implements, whatever it is made of:
/// a TorchScript file, the native InceptionV1, the demo CNN, or a user's own module.
/// It is a runtime interface (a virtual base) rather than a policy because the model
/// is chosen at run time, from a file named on the command line.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace actatlas {

//! One layer a model exposes: its name and its number of channels (D).
struct layer_info {
  std::string name;
  std::int64_t channels = 0;
};

//! What the atlas needs to know about a model.
struct model_info {
  std::int64_t input_height = 224;        //!< the model's input size; images are resized and centre-cropped to it
  std::int64_t input_width = 224;
  std::vector<std::string> class_names;   //!< C names, index = logit
  std::vector<layer_info> layers;         //!< the layers that can be asked for, input to output
};

//! The result of a forward pass: "logits" ([B,C]) and each asked-for layer ([B,D,h,w]).
using layer_outputs = std::unordered_map<std::string, torch::Tensor>;

//! An image classifier seen by the atlas.
class classifier {
 public:
  virtual ~classifier() = default;

  //! Input size, class names, exposed layers.
  virtual const model_info& info() const = 0;

  //! Runs the network on `x` ([B,3,H,W] float32 RGB in [0,1], on device()); the model does
  //! its own normalisation. Returns "logits" and each layer in `layers`. Gradients flow
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

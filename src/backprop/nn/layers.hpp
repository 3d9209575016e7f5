// Every layer type, for code that builds networks by hand. The declarations live by family:
//   module.hpp      Module, Linear, Activation, Sequential (the base and the dense layers)
//   conv.hpp        Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d
//   norm.hpp        BatchNorm (1-D and 2-D)
//   regularize.hpp  Dropout, RandomShiftFlip (training-mode only)
//   shape.hpp       Reshape, Flatten
//   residual.hpp    Residual, make_basic_block
//   rnn.hpp         Embedding, Recurrent (RNN, LSTM, GRU)
//   seq2seq.hpp     Seq2Seq (an LSTM encoder–decoder)
// Library code includes the family it uses; this header is for users and for the one place
// that must know every type (module_from_config, nn/factory.cpp).
#pragma once

#include "backprop/nn/conv.hpp"
#include "backprop/nn/module.hpp"
#include "backprop/nn/norm.hpp"
#include "backprop/nn/regularize.hpp"
#include "backprop/nn/residual.hpp"
#include "backprop/nn/rnn.hpp"
#include "backprop/nn/seq2seq.hpp"
#include "backprop/nn/shape.hpp"

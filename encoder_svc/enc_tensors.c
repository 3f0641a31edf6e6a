/* enc_tensors.c: see enc_tensors.h. */
#include "enc_tensors.h"

#include <assert.h>
#include <stdio.h>

#define H ENC_DIM_HIDDEN
#define I ENC_DIM_INTERMEDIATE
#define NONE ENC_DIM_NONE

const enc_tensor_spec enc_emb_tensors[ENC_N_EMB_TENSORS] = {
    [ENC_T_WORD] = {"embeddings.word_embeddings.weight", ENC_DIM_VOCAB, H},
    [ENC_T_POS] = {"embeddings.position_embeddings.weight", ENC_DIM_POSITIONS, H},
    [ENC_T_TYPE] = {"embeddings.token_type_embeddings.weight", ENC_DIM_TYPES, H},
    [ENC_T_EMB_LN_W] = {"embeddings.LayerNorm.weight", H, NONE},
    [ENC_T_EMB_LN_B] = {"embeddings.LayerNorm.bias", H, NONE},
};

const enc_tensor_spec enc_layer_tensors[ENC_N_LAYER_TENSORS] = {
    [ENC_T_Q_W] = {"attention.self.query.weight", H, H},
    [ENC_T_Q_B] = {"attention.self.query.bias", H, NONE},
    [ENC_T_K_W] = {"attention.self.key.weight", H, H},
    [ENC_T_K_B] = {"attention.self.key.bias", H, NONE},
    [ENC_T_V_W] = {"attention.self.value.weight", H, H},
    [ENC_T_V_B] = {"attention.self.value.bias", H, NONE},
    [ENC_T_O_W] = {"attention.output.dense.weight", H, H},
    [ENC_T_O_B] = {"attention.output.dense.bias", H, NONE},
    [ENC_T_LN1_W] = {"attention.output.LayerNorm.weight", H, NONE},
    [ENC_T_LN1_B] = {"attention.output.LayerNorm.bias", H, NONE},
    [ENC_T_I_W] = {"intermediate.dense.weight", I, H},
    [ENC_T_I_B] = {"intermediate.dense.bias", I, NONE},
    [ENC_T_F_W] = {"output.dense.weight", H, I},
    [ENC_T_F_B] = {"output.dense.bias", H, NONE},
    [ENC_T_LN2_W] = {"output.LayerNorm.weight", H, NONE},
    [ENC_T_LN2_B] = {"output.LayerNorm.bias", H, NONE},
};

const enc_tensor_spec enc_pooler_tensors[ENC_N_POOLER_TENSORS] = {
    [ENC_T_POOLER_W] = {"pooler.dense.weight", H, H},
    [ENC_T_POOLER_B] = {"pooler.dense.bias", H, NONE},
};

void enc_layer_tensor_name(char *buf, size_t cap, int layer, int t)
{
    assert(t >= 0 && t < ENC_N_LAYER_TENSORS && layer >= 0);
    snprintf(buf, cap, "encoder.layer.%d.%s", layer, enc_layer_tensors[t].name);
}

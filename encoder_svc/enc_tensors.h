/* enc_tensors: BERT's parameters as Hugging Face's BertModel names them (its state_dict keys) and
 * their shapes: the one list the loader (enc_model.c), the random-model writer
 * (tools/enc_genmodel.c) and the tests read. A checkpoint of a BertFor* head puts them under
 * "bert."; TensorFlow conversions say gamma/beta for LayerNorm weight/bias (enc_model.c copes). */
#ifndef ENC_TENSORS_H
#define ENC_TENSORS_H

#include <stddef.h>

/* The sizes a shape is made of (ENC_DIM_NONE: a vector has one dimension). */
typedef enum {
    ENC_DIM_NONE, ENC_DIM_HIDDEN, ENC_DIM_INTERMEDIATE, ENC_DIM_VOCAB, ENC_DIM_POSITIONS, ENC_DIM_TYPES
} enc_dim;

typedef struct {
    const char *name;
    enc_dim d0, d1;          /* nn.Linear weights are [out, in]; biases and LayerNorm [out] */
} enc_tensor_spec;

enum {
    ENC_T_WORD, ENC_T_POS, ENC_T_TYPE, ENC_T_EMB_LN_W, ENC_T_EMB_LN_B, ENC_N_EMB_TENSORS
};
/* Per layer, in this order (the forward pass's); full name "encoder.layer.N." + name. */
enum {
    ENC_T_Q_W, ENC_T_Q_B, ENC_T_K_W, ENC_T_K_B, ENC_T_V_W, ENC_T_V_B, ENC_T_O_W, ENC_T_O_B,
    ENC_T_LN1_W, ENC_T_LN1_B, ENC_T_I_W, ENC_T_I_B, ENC_T_F_W, ENC_T_F_B, ENC_T_LN2_W, ENC_T_LN2_B,
    ENC_N_LAYER_TENSORS
};
enum { ENC_T_POOLER_W, ENC_T_POOLER_B, ENC_N_POOLER_TENSORS };

extern const enc_tensor_spec enc_emb_tensors[ENC_N_EMB_TENSORS];
extern const enc_tensor_spec enc_layer_tensors[ENC_N_LAYER_TENSORS];
/* BertPooler's dense layer: saved by BertModel (so the generator writes it), unused by sentence
 * embeddings (so the loader never reads it). */
extern const enc_tensor_spec enc_pooler_tensors[ENC_N_POOLER_TENSORS];

/* "encoder.layer.<layer>.<name of t>" into buf (cap bytes, always terminated). */
void enc_layer_tensor_name(char *buf, size_t cap, int layer, int t);

#endif

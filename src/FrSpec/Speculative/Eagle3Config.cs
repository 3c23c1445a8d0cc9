using System.Text.Json;
using FrSpec.Formats;
using FrSpec.Model;

namespace FrSpec.Speculative;

/// <summary>
/// An EAGLE-3 head's config.json, in either layout (docs/formats.md, "EAGLE-3 heads"): the official one (a Llama config
/// with num_hidden_layers 1 and draft_vocab_size, optionally target_hidden_size) or a speculators export, which nests the
/// layer's Llama config under transformer_layer_config and keeps draft_vocab_size, target_hidden_size,
/// norm_before_residual and eagle_aux_hidden_state_layer_ids at the top.
/// </summary>
internal sealed record Eagle3Config(ModelConfig Layer, int DraftVocabSize, IReadOnlyList<int> TargetLayers, int FeatureWidth, bool NormBeforeResidual)
{
    public static Eagle3Config Read(string file, ModelConfig target)
    {
        using var doc = JsonFields.ReadObject(file);
        var root = doc.RootElement;
        var layerJson = root.TryGetProperty("transformer_layer_config", out var nested) && nested.ValueKind == JsonValueKind.Object ? nested : root;
        var layer = ModelConfig.Parse(layerJson, file, requireArchitecture: false);
        if (layer.NumLayers != 1)
            throw new FrSpecException($"{file}: num_hidden_layers is {layer.NumLayers}; FrSpec runs EAGLE-3 heads with exactly 1 draft layer");
        int draftVocab = Field(root, layerJson, "draft_vocab_size") is JsonElement dv && dv.TryGetInt32(out int d) ? d
            : throw new FrSpecException($"{file}: field 'draft_vocab_size' is missing (expected an EAGLE-3 head)");
        if (draftVocab <= 0 || draftVocab > target.VocabSize)
            throw new FrSpecException($"{file}: draft_vocab_size {draftVocab} must be between 1 and the target's vocabulary size {target.VocabSize}");
        if (layer.VocabSize != target.VocabSize)
            throw new FrSpecException($"{file}: vocab_size {layer.VocabSize} does not match the target model's {target.VocabSize}");
        int targetHidden = Field(root, layerJson, "target_hidden_size") is JsonElement th && th.ValueKind == JsonValueKind.Number
            ? th.GetInt32() : layer.HiddenSize;
        if (targetHidden != target.HiddenSize)
            throw new FrSpecException($"{file}: target_hidden_size {targetHidden} (or hidden_size when absent) does not match the target model's {target.HiddenSize}");
        IReadOnlyList<int> layers = Eagle3Head.DefaultTargetLayers(target.NumLayers);
        if (Field(root, layerJson, "eagle_aux_hidden_state_layer_ids") is JsonElement ids && ids.ValueKind == JsonValueKind.Array)
        {
            var list = new List<int>();
            foreach (var e in ids.EnumerateArray())
            {
                if (!e.TryGetInt32(out int l) || l < 0 || l >= target.NumLayers)
                    throw new FrSpecException($"{file}: eagle_aux_hidden_state_layer_ids holds {e}, not a layer of the target's {target.NumLayers}");
                if (list.Contains(l)) throw new FrSpecException($"{file}: eagle_aux_hidden_state_layer_ids lists layer {l} twice");
                list.Add(l);
            }
            if (list.Count == 0) throw new FrSpecException($"{file}: eagle_aux_hidden_state_layer_ids is empty");
            layers = list;
        }
        bool normBefore = Field(root, layerJson, "norm_before_residual") is JsonElement nb && nb.ValueKind == JsonValueKind.True;
        return new Eagle3Config(layer, draftVocab, layers, layers.Count * targetHidden, normBefore);
    }

    /// <summary>A key at the top of the file, else in the nested layer config.</summary>
    private static JsonElement? Field(JsonElement root, JsonElement layer, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v
        : layer.TryGetProperty(name, out v) && v.ValueKind != JsonValueKind.Null ? v
        : null;
}

namespace FrSpec.Formats.Gguf;

/// <summary>
/// Hugging Face tensor names (the names the engine asks for) to llama.cpp's GGUF names: model.embed_tokens → token_embd,
/// model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj} →
/// blk.N.{attn_norm, attn_{q,k,v,output}, ffn_norm, ffn_{gate,up,down}}, model.norm → output_norm, lm_head → output.
/// </summary>
internal static class GgufTensorNames
{
    private static readonly Dictionary<string, string> LayerParts = new(StringComparer.Ordinal)
    {
        ["input_layernorm.weight"] = "attn_norm.weight",
        ["self_attn.q_proj.weight"] = "attn_q.weight",
        ["self_attn.k_proj.weight"] = "attn_k.weight",
        ["self_attn.v_proj.weight"] = "attn_v.weight",
        ["self_attn.q_proj.bias"] = "attn_q.bias",
        ["self_attn.k_proj.bias"] = "attn_k.bias",
        ["self_attn.v_proj.bias"] = "attn_v.bias",
        ["self_attn.o_proj.weight"] = "attn_output.weight",
        ["post_attention_layernorm.weight"] = "ffn_norm.weight",
        ["mlp.gate_proj.weight"] = "ffn_gate.weight",
        ["mlp.up_proj.weight"] = "ffn_up.weight",
        ["mlp.down_proj.weight"] = "ffn_down.weight",
    };

    private const string LayerPrefix = "model.layers.";

    /// <summary>The GGUF name of a Hugging Face tensor name, or null when GGUF has no such tensor.</summary>
    public static string? FromHf(string hfName)
    {
        switch (hfName)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }
        if (!hfName.StartsWith(LayerPrefix, StringComparison.Ordinal)) return null;
        int dot = hfName.IndexOf('.', LayerPrefix.Length);
        if (dot < 0 || !int.TryParse(hfName.AsSpan(LayerPrefix.Length, dot - LayerPrefix.Length), System.Globalization.NumberStyles.None, null, out int layer))
            return null;
        return LayerParts.TryGetValue(hfName[(dot + 1)..], out var part) ? $"blk.{layer}.{part}" : null;
    }

    /// <summary>
    /// The Hugging Face name of a GGUF tensor name, or the GGUF name itself when it has no Hugging Face counterpart
    /// (so that an unused tensor can be named in errors).
    /// </summary>
    public static string ToHf(string ggufName)
    {
        switch (ggufName)
        {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
        }
        const string block = "blk.";
        if (!ggufName.StartsWith(block, StringComparison.Ordinal)) return ggufName;
        int dot = ggufName.IndexOf('.', block.Length);
        if (dot < 0) return ggufName;
        string part = ggufName[(dot + 1)..];
        foreach (var (hf, gguf) in LayerParts)
            if (gguf == part) return $"{LayerPrefix}{ggufName[block.Length..dot]}.{hf}";
        return ggufName;
    }

    /// <summary>GGUF tensors that feed the configuration rather than the forward pass (llama3 rope frequencies).</summary>
    public static bool IsConfiguration(string ggufName) => ggufName == "rope_freqs.weight";

    /// <summary>True for the q/k projections whose rows llama.cpp's "llama" converter reorders for its RoPE layout.</summary>
    public static bool IsRopePermuted(string ggufName) =>
        ggufName.StartsWith("blk.", StringComparison.Ordinal)
        && (ggufName.EndsWith(".attn_q.weight", StringComparison.Ordinal) || ggufName.EndsWith(".attn_k.weight", StringComparison.Ordinal)
            || ggufName.EndsWith(".attn_q.bias", StringComparison.Ordinal) || ggufName.EndsWith(".attn_k.bias", StringComparison.Ordinal));

    /// <summary>
    /// For the q/k rows of a "llama" GGUF: the file row that holds Hugging Face row <paramref name="hfRow"/>. llama.cpp
    /// rotates adjacent lane pairs (2j, 2j+1) where Hugging Face pairs lane j with lane j + headDim/2, so its converter
    /// stores, within each head, HF row s·headDim/2 + j at file row 2j + s (s ∈ {0, 1}).
    /// </summary>
    public static int FileRowOfHfRow(int hfRow, int headDim)
    {
        int head = hfRow / headDim, r = hfRow % headDim, half = headDim / 2;
        return head * headDim + 2 * (r % half) + r / half;
    }
}

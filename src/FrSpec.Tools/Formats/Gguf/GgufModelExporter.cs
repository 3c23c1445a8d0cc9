using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Formats.Gguf;

/// <summary>
/// Writes a Hugging Face model directory (Llama-3 family or Qwen2, as <see cref="Transformer"/> loads it) as a GGUF
/// file that llama.cpp loads: llama.cpp tensor names, hyper-parameters, the byte-level BPE tokenizer, and the same
/// weight dtypes as the safetensors (F32/F16/BF16; norms and biases in F32).
///
/// Two layout details matter for identical numerics: llama.cpp's "llama" architecture applies RoPE to adjacent lane
/// pairs (2j, 2j+1) where HF rotates lane j with lane j + headDim/2, so the q/k projection rows are reordered per head
/// (<see cref="PermutedSourceRow"/>); and Llama-3.1/3.2 rope scaling travels as a rope_freqs tensor of per-frequency
/// divisors. Qwen2 uses llama.cpp's NeoX rope (HF's layout), so its rows stay as they are.
/// </summary>
public static class GgufModelExporter
{
    /// <summary>Exports <paramref name="modelDir"/> to <paramref name="outPath"/> (replacing it). The tokenizer is the
    /// directory's tokenizer.json unless given.</summary>
    public static void Export(string modelDir, string outPath, string? tokenizerJson = null) =>
        Write(modelDir, outPath, tokenizerJson, null, overwrite: true, null);

    /// <summary>
    /// Writes <paramref name="modelDir"/> as a GGUF, matrices quantized per <paramref name="quantize"/>
    /// (<see cref="QuantizationMix"/>) or kept in their safetensors dtype (null). Streams: matrices are converted a
    /// chunk of rows at a time from the memory-mapped safetensors, never held whole. The file appears under its name
    /// only when complete; with <paramref name="overwrite"/> false an existing file is an error, not replaced.
    /// <paramref name="progress"/> counts converted weights in units of 2^16.
    /// </summary>
    public static void Write(string modelDir, string outPath, string? tokenizerJson, QuantizedFileType? quantize, bool overwrite,
        IProgress<(int Done, int Total)>? progress)
    {
        // Tensor bytes are copied as the host stores them; GGUF (like safetensors) is little-endian.
        if (!BitConverter.IsLittleEndian) throw new FrSpecException("GGUF export needs a little-endian host");
        if (!overwrite && File.Exists(outPath)) throw new FrSpecException($"{outPath}: the file exists; choose a new name (nothing is overwritten)");
        var config = ModelConfig.Load(modelDir);
        tokenizerJson ??= Path.Combine(modelDir, "tokenizer.json");
        var vocab = GgufVocabulary.Load(tokenizerJson, config);
        using var store = TensorStore.Open(modelDir);
        var writer = Build(config, store, vocab, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDir))), quantize, progress);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (dir != null) Directory.CreateDirectory(dir);
        writer.Write(outPath, overwrite);
    }

    /// <summary>The llama.cpp architecture name for a model type.</summary>
    public static string ArchitectureOf(ModelConfig c) => c.ModelType switch
    {
        "llama" => "llama",
        "qwen2" => "qwen2",
        _ => throw new FrSpecException($"model_type '{c.ModelType}': the GGUF exporter supports llama (Llama-3 family) and qwen2"),
    };

    /// <summary>Collects metadata and tensor producers; the store must stay open until the writer has written.
    /// With <paramref name="quantize"/>, matrices are converted to the types <see cref="QuantizationMix"/> picks.</summary>
    public static GgufWriter Build(ModelConfig c, TensorStore store, GgufVocabulary vocab, string name,
        QuantizedFileType? quantize = null, IProgress<(int Done, int Total)>? progress = null)
    {
        string arch = ArchitectureOf(c);
        bool permuteQk = arch == "llama";
        var w = new GgufWriter();
        w.AddString("general.architecture", arch);
        w.AddString("general.name", name);
        var embedType = DTypeOf(store, "model.embed_tokens.weight");
        // llama_ftype ALL_F32 / MOSTLY_F16 / MOSTLY_BF16, or the quantized file type
        w.AddUInt32("general.file_type", quantize is { } qt ? (uint)qt : embedType switch { DType.F32 => 0u, DType.F16 => 1u, _ => 32u });
        if (quantize != null) w.AddUInt32("general.quantization_version", 2); // ggml's GGML_QNT_VERSION
        var matrices = new GgufMatrixWriter(store, quantize, c.NumLayers, hasOutput: !c.TieWordEmbeddings, progress);
        w.AddUInt32($"{arch}.vocab_size", (uint)c.VocabSize);
        w.AddUInt32($"{arch}.context_length", (uint)c.MaxPositions);
        w.AddUInt32($"{arch}.embedding_length", (uint)c.HiddenSize);
        w.AddUInt32($"{arch}.block_count", (uint)c.NumLayers);
        w.AddUInt32($"{arch}.feed_forward_length", (uint)c.IntermediateSize);
        w.AddUInt32($"{arch}.attention.head_count", (uint)c.NumHeads);
        w.AddUInt32($"{arch}.attention.head_count_kv", (uint)c.NumKvHeads);
        w.AddUInt32($"{arch}.attention.key_length", (uint)c.HeadDim);
        w.AddUInt32($"{arch}.attention.value_length", (uint)c.HeadDim);
        w.AddFloat32($"{arch}.rope.freq_base", (float)c.RopeTheta);
        w.AddUInt32($"{arch}.rope.dimension_count", (uint)c.HeadDim);
        w.AddFloat32($"{arch}.attention.layer_norm_rms_epsilon", c.RmsNormEps);
        if (c.RopeScaling is { Type: "linear" } lin)
        {
            w.AddString($"{arch}.rope.scaling.type", "linear");
            w.AddFloat32($"{arch}.rope.scaling.factor", (float)lin.Factor);
        }

        w.AddString("tokenizer.ggml.model", "gpt2");
        w.AddString("tokenizer.ggml.pre", arch == "qwen2" ? "qwen2" : "llama-bpe");
        w.AddStrings("tokenizer.ggml.tokens", vocab.Tokens);
        w.AddInt32s("tokenizer.ggml.token_type", vocab.TokenTypes);
        w.AddStrings("tokenizer.ggml.merges", vocab.Merges);
        if (vocab.BosId is int bos) w.AddUInt32("tokenizer.ggml.bos_token_id", (uint)bos);
        if (vocab.EosId is int eos) w.AddUInt32("tokenizer.ggml.eos_token_id", (uint)eos);
        if (vocab.PadId is int pad) w.AddUInt32("tokenizer.ggml.padding_token_id", (uint)pad);
        if (vocab.AddBos is bool addBos) w.AddBool("tokenizer.ggml.add_bos_token", addBos);
        if (vocab.ChatTemplate is { } template) w.AddString("tokenizer.chat_template", template);

        if (c.RopeScaling is { Type: "llama3" } s)
            w.AddTensor("rope_freqs.weight", GgmlType.F32, [c.HeadDim / 2], st => WriteFloats(st, Llama3RopeFactors(c.HeadDim, c.RopeTheta, s)));

        int q = c.NumHeads * c.HeadDim, kv = c.NumKvHeads * c.HeadDim, h = c.HiddenSize, f = c.IntermediateSize;
        matrices.Add(w, "token_embd.weight", "model.embed_tokens.weight", c.VocabSize, h);
        for (int l = 0; l < c.NumLayers; l++)
        {
            string hf = $"model.layers.{l}.", gg = $"blk.{l}.";
            AddVector(w, store, gg + "attn_norm.weight", hf + "input_layernorm.weight", h);
            matrices.Add(w, gg + "attn_q.weight", hf + "self_attn.q_proj.weight", q, h, permuteQk ? c.NumHeads : 0);
            matrices.Add(w, gg + "attn_k.weight", hf + "self_attn.k_proj.weight", kv, h, permuteQk ? c.NumKvHeads : 0);
            matrices.Add(w, gg + "attn_v.weight", hf + "self_attn.v_proj.weight", kv, h);
            if (c.AttentionOutputBias || c.MlpBias)
                throw new FrSpecException($"{store.Directory}: o_proj or MLP biases (attention_bias/mlp_bias) are not supported by the GGUF exporter");
            if (c.AttentionBias)
            {
                if (permuteQk) throw new FrSpecException($"{store.Directory}: q/k biases on a llama-architecture model are not supported by the GGUF exporter");
                AddVector(w, store, gg + "attn_q.bias", hf + "self_attn.q_proj.bias", q);
                AddVector(w, store, gg + "attn_k.bias", hf + "self_attn.k_proj.bias", kv);
                AddVector(w, store, gg + "attn_v.bias", hf + "self_attn.v_proj.bias", kv);
            }
            matrices.Add(w, gg + "attn_output.weight", hf + "self_attn.o_proj.weight", h, q);
            AddVector(w, store, gg + "ffn_norm.weight", hf + "post_attention_layernorm.weight", h);
            matrices.Add(w, gg + "ffn_gate.weight", hf + "mlp.gate_proj.weight", f, h);
            matrices.Add(w, gg + "ffn_up.weight", hf + "mlp.up_proj.weight", f, h);
            matrices.Add(w, gg + "ffn_down.weight", hf + "mlp.down_proj.weight", h, f);
        }
        AddVector(w, store, "output_norm.weight", "model.norm.weight", h);
        if (!c.TieWordEmbeddings)
        {
            if (!store.Contains("lm_head.weight")) throw new FrSpecException($"{store.Directory}: tensor 'lm_head.weight' is missing and tie_word_embeddings is false");
            matrices.Add(w, "output.weight", "lm_head.weight", c.VocabSize, h);
        }
        return w;
    }

    /// <summary>
    /// For q/k rows in llama.cpp's layout: the HF row that lands at <paramref name="row"/>. Within each head of
    /// <paramref name="headDim"/> rows, GGUF row 2j + s comes from HF row s·headDim/2 + j (s ∈ {0, 1}), i.e. the
    /// converter's reshape(heads, 2, headDim/2, in).swapaxes(1, 2).
    /// </summary>
    public static int PermutedSourceRow(int row, int headDim)
    {
        int head = row / headDim, r = row % headDim;
        return head * headDim + (r & 1) * (headDim / 2) + (r >> 1);
    }

    /// <summary>
    /// Llama-3.1 rope_freqs: the per-frequency divisors of θ^(−2i/d) that llama.cpp divides each rotation frequency by,
    /// computed by the engine's RoPE (<see cref="Rope.ScalingDivisors"/>).
    /// </summary>
    public static float[] Llama3RopeFactors(int headDim, double theta, RopeScaling s) =>
        Array.ConvertAll(Rope.ScalingDivisors(headDim, theta, s), d => (float)d);

    private static DType DTypeOf(TensorStore store, string name)
    {
        var (f, e) = store.Find(name);
        return SafetensorsFile.ToDType(f.Path, e);
    }

    /// <summary>A 1-D tensor (norm weight, bias) converted to F32, as llama.cpp's converter stores them.</summary>
    private static void AddVector(GgufWriter w, TensorStore store, string ggufName, string hfName, int length)
    {
        var v = store.Vector(hfName, length);
        w.AddTensor(ggufName, GgmlType.F32, [length], st => WriteFloats(st, v));
    }

    private static void WriteFloats(Stream st, float[] values) => st.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
}

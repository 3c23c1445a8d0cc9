using System.Text.Json;
using System.Text.Json.Nodes;
using FrSpec.Formats;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Synthesis;

/// <summary>
/// Writes a model of a real shape whose output equals a small model's: a cost model. Every matrix product then costs
/// what the real model's costs (same widths, layers and bytes), while the tokens are the small model's (a trained
/// pair stays a trained pair). See docs/expansion.md for why each step keeps the function unchanged:
/// <list type="bullet">
/// <item>the residual stream is zero-padded from h to H: embedding columns, and every matrix writing into the stream
/// (o_proj, down_proj) has zero rows beyond h;</item>
/// <item>RMSNorm over H dims of a zero-padded vector is RMSNorm over h dims times √(H/h), once eps becomes eps·h/H:
/// every norm weight is multiplied by √(h/H) (written in f32, so the scaling adds only f32 rounding);</item>
/// <item>the head dimension is kept, so attention scale and RoPE frequencies are unchanged; the small model's query
/// heads go to big heads that share the matching KV head, the other heads read zero queries and their o_proj columns
/// are zero;</item>
/// <item>FFN rows beyond the small width are zero (silu(0)·0 = 0); extra layers have zero o_proj and down_proj and add
/// nothing to the residual stream (but still compute at full cost).</item>
/// </list>
/// </summary>
public static class ModelExpander
{
    /// <summary>Key written into the expanded config.json describing the expansion (HF loaders ignore unknown keys).</summary>
    public const string ConfigKey = "frspec_expansion";

    /// <summary>Expands the model in <paramref name="smallDir"/> to <paramref name="shape"/> into <paramref name="outDir"/>.</summary>
    public static void ExpandTarget(string smallDir, ExpansionShape shape, string outDir, IProgress<(int Done, int Total)>? progress = null)
    {
        var c = ModelConfig.Load(smallDir);
        var plan = HeadPlan.For(c.HiddenSize, c.NumHeads, c.NumKvHeads, c.HeadDim, shape.HiddenSize, shape.QueryWidth, shape.KeyValueWidth,
            $"{smallDir}/config.json", shape.Name);
        if (shape.IntermediateSize < c.IntermediateSize || shape.Layers < c.NumLayers)
            throw new FrSpecException($"{smallDir}: FFN width {c.IntermediateSize} / {c.NumLayers} layers do not fit in {shape.Name} ({shape.IntermediateSize} / {shape.Layers})");

        using var store = TensorStore.Open(smallDir);
        int h = c.HiddenSize, H = shape.HiddenSize, d = c.HeadDim;
        float normScale = MathF.Sqrt((float)h / H);
        bool bias = c.AttentionBias;
        bool keepTied = c.TieWordEmbeddings && shape.TieWordEmbeddings;
        var tensors = new List<TensorBlob>();
        var cols = Segments.Prefix(h);

        tensors.Add(Matrix(store, "model.embed_tokens.weight", c.VocabSize, h, c.VocabSize, H, Identity, cols));
        for (int l = 0; l < shape.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            if (l < c.NumLayers)
            {
                tensors.Add(ScaledNorm(store, p + "input_layernorm.weight", h, H, normScale));
                tensors.Add(Matrix(store, p + "self_attn.q_proj.weight", c.NumHeads * d, h, plan.BigHeads * d, H, plan.QueryRow, cols));
                tensors.Add(Matrix(store, p + "self_attn.k_proj.weight", c.NumKvHeads * d, h, plan.BigKvHeads * d, H, Identity, cols));
                tensors.Add(Matrix(store, p + "self_attn.v_proj.weight", c.NumKvHeads * d, h, plan.BigKvHeads * d, H, Identity, cols));
                if (bias)
                {
                    tensors.Add(Vector(store, p + "self_attn.q_proj.bias", c.NumHeads * d, plan.BigHeads * d, plan.QueryRow));
                    tensors.Add(Vector(store, p + "self_attn.k_proj.bias", c.NumKvHeads * d, plan.BigKvHeads * d, Identity));
                    tensors.Add(Vector(store, p + "self_attn.v_proj.bias", c.NumKvHeads * d, plan.BigKvHeads * d, Identity));
                }
                tensors.Add(Matrix(store, p + "self_attn.o_proj.weight", h, c.NumHeads * d, H, plan.BigHeads * d, Identity, plan.QueryColumns));
                tensors.Add(ScaledNorm(store, p + "post_attention_layernorm.weight", h, H, normScale));
                tensors.Add(Matrix(store, p + "mlp.gate_proj.weight", c.IntermediateSize, h, shape.IntermediateSize, H, Identity, cols));
                tensors.Add(Matrix(store, p + "mlp.up_proj.weight", c.IntermediateSize, h, shape.IntermediateSize, H, Identity, cols));
                tensors.Add(Matrix(store, p + "mlp.down_proj.weight", h, c.IntermediateSize, H, shape.IntermediateSize, Identity, Segments.Prefix(c.IntermediateSize)));
            }
            else
            {
                // A layer that computes at full cost and adds nothing: zero projections into the residual stream.
                var type = store.Matrix("model.layers.0.self_attn.q_proj.weight", c.NumHeads * d, h).Type;
                tensors.Add(Zeros(p + "input_layernorm.weight", DType.F32, H));
                tensors.Add(Zeros(p + "self_attn.q_proj.weight", type, plan.BigHeads * d, H));
                tensors.Add(Zeros(p + "self_attn.k_proj.weight", type, plan.BigKvHeads * d, H));
                tensors.Add(Zeros(p + "self_attn.v_proj.weight", type, plan.BigKvHeads * d, H));
                if (bias)
                {
                    tensors.Add(Zeros(p + "self_attn.q_proj.bias", DType.F32, plan.BigHeads * d));
                    tensors.Add(Zeros(p + "self_attn.k_proj.bias", DType.F32, plan.BigKvHeads * d));
                    tensors.Add(Zeros(p + "self_attn.v_proj.bias", DType.F32, plan.BigKvHeads * d));
                }
                tensors.Add(Zeros(p + "self_attn.o_proj.weight", type, H, plan.BigHeads * d));
                tensors.Add(Zeros(p + "post_attention_layernorm.weight", DType.F32, H));
                tensors.Add(Zeros(p + "mlp.gate_proj.weight", type, shape.IntermediateSize, H));
                tensors.Add(Zeros(p + "mlp.up_proj.weight", type, shape.IntermediateSize, H));
                tensors.Add(Zeros(p + "mlp.down_proj.weight", type, H, shape.IntermediateSize));
            }
        }
        tensors.Add(ScaledNorm(store, "model.norm.weight", h, H, normScale));
        if (!keepTied)
        {
            // A separate LM head: the small model's own, or a copy of its tied embedding (the real shape is untied).
            string source = store.Contains("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight";
            tensors.Add(Matrix(store, source, c.VocabSize, h, c.VocabSize, H, Identity, cols) with { Name = "lm_head.weight" });
        }

        Directory.CreateDirectory(outDir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(smallDir, "config.json")))!.AsObject();
        config["hidden_size"] = H;
        config["intermediate_size"] = shape.IntermediateSize;
        config["num_hidden_layers"] = shape.Layers;
        config["num_attention_heads"] = plan.BigHeads;
        config["num_key_value_heads"] = plan.BigKvHeads;
        config["head_dim"] = d;
        config["rms_norm_eps"] = c.RmsNormEps * h / H;
        config["tie_word_embeddings"] = keepTied;
        if (config.ContainsKey("max_window_layers")) config["max_window_layers"] = shape.Layers;
        config[ConfigKey] = new JsonObject
        {
            ["shape"] = shape.Name,
            ["source"] = Path.GetFileName(Path.GetFullPath(smallDir).TrimEnd('/')),
            ["source_hidden_size"] = h,
            ["source_intermediate_size"] = c.IntermediateSize,
            ["source_layers"] = c.NumLayers,
            ["source_heads"] = c.NumHeads,
            ["source_kv_heads"] = c.NumKvHeads,
            ["note"] = "cost model: a real-shape model whose output equals the source model's (docs/expansion.md)",
        };
        WriteDirectory(smallDir, outDir, config, tensors, progress);
    }

    /// <summary>
    /// Expands an EAGLE-1/2 head trained for a small target so that it drafts for <paramref name="expandedTargetDir"/>
    /// (written by <see cref="ExpandTarget"/> from that small target): its fc input is [embedding | feature] in the big
    /// width, its layer is expanded like a target layer (no input norm), and its output stays zero-padded, so draft
    /// logits equal the small head's.
    /// </summary>
    public static void ExpandEagle(string smallHeadDir, string expandedTargetDir, string outDir, IProgress<(int Done, int Total)>? progress = null)
    {
        var target = ModelConfig.Load(expandedTargetDir);
        var expansion = ReadExpansion(expandedTargetDir);
        string headConfigFile = Path.Combine(smallHeadDir, "config.json");
        if (!File.Exists(headConfigFile)) throw new FrSpecException($"{headConfigFile}: config.json not found (expected an EAGLE-1/2 head)");
        var headJson = JsonNode.Parse(File.ReadAllText(headConfigFile))!.AsObject();
        var hc = ModelConfig.Parse(JsonDocument.Parse(headJson.ToJsonString()).RootElement, headConfigFile, requireArchitecture: false);
        int h = hc.HiddenSize, H = target.HiddenSize, d = hc.HeadDim;
        if (h != expansion.SourceHiddenSize)
            throw new FrSpecException($"{headConfigFile}: hidden_size {h} is not the width {expansion.SourceHiddenSize} that {expandedTargetDir} was expanded from");
        var plan = HeadPlan.For(h, hc.NumHeads, hc.NumKvHeads, d, H, target.NumHeads * target.HeadDim, target.NumKvHeads * target.HeadDim,
            headConfigFile, expansion.Shape);
        int inter = Math.Max(target.IntermediateSize, hc.IntermediateSize);

        using var s = Speculative.EagleTensors.Open(smallHeadDir);
        float normScale = MathF.Sqrt((float)h / H);
        var cols = Segments.Prefix(h);
        var tensors = new List<TensorBlob>
        {
            // fc input columns: [embedding (H) | feature (H)]; the small head's two halves go to the front of each.
            Matrix(s, "fc.weight", h, 2 * h, H, 2 * H, Identity, [new(0, 0, h), new(h, H, h)]),
        };
        if (s.Contains("fc.bias")) tensors.Add(Vector(s, "fc.bias", h, H, Identity));
        const string p = "layers.0.";
        tensors.Add(Matrix(s, p + "self_attn.q_proj.weight", hc.NumHeads * d, h, plan.BigHeads * d, H, plan.QueryRow, cols));
        tensors.Add(Matrix(s, p + "self_attn.k_proj.weight", hc.NumKvHeads * d, h, plan.BigKvHeads * d, H, Identity, cols));
        tensors.Add(Matrix(s, p + "self_attn.v_proj.weight", hc.NumKvHeads * d, h, plan.BigKvHeads * d, H, Identity, cols));
        if (s.Contains(p + "self_attn.q_proj.bias"))
        {
            tensors.Add(Vector(s, p + "self_attn.q_proj.bias", hc.NumHeads * d, plan.BigHeads * d, plan.QueryRow));
            tensors.Add(Vector(s, p + "self_attn.k_proj.bias", hc.NumKvHeads * d, plan.BigKvHeads * d, Identity));
            tensors.Add(Vector(s, p + "self_attn.v_proj.bias", hc.NumKvHeads * d, plan.BigKvHeads * d, Identity));
        }
        tensors.Add(Matrix(s, p + "self_attn.o_proj.weight", h, hc.NumHeads * d, H, plan.BigHeads * d, Identity, plan.QueryColumns));
        tensors.Add(ScaledNorm(s, p + "post_attention_layernorm.weight", h, H, normScale));
        tensors.Add(Matrix(s, p + "mlp.gate_proj.weight", hc.IntermediateSize, h, inter, H, Identity, cols));
        tensors.Add(Matrix(s, p + "mlp.up_proj.weight", hc.IntermediateSize, h, inter, H, Identity, cols));
        tensors.Add(Matrix(s, p + "mlp.down_proj.weight", h, hc.IntermediateSize, H, inter, Identity, Segments.Prefix(hc.IntermediateSize)));

        headJson["hidden_size"] = H;
        headJson["intermediate_size"] = inter;
        headJson["num_attention_heads"] = plan.BigHeads;
        headJson["num_key_value_heads"] = plan.BigKvHeads;
        headJson["head_dim"] = d;
        headJson["rms_norm_eps"] = hc.RmsNormEps * h / H;
        headJson[ConfigKey] = new JsonObject
        {
            ["shape"] = expansion.Shape,
            ["source"] = Path.GetFileName(Path.GetFullPath(smallHeadDir).TrimEnd('/')),
            ["source_hidden_size"] = h,
            ["note"] = "cost model: an EAGLE head of the real shape whose drafts equal the source head's (docs/expansion.md)",
        };
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "config.json"), headJson.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Write(Path.Combine(outDir, "model.safetensors"), tensors, progress);
    }

    /// <summary>
    /// Expands Medusa heads trained for a small target so that they draft for <paramref name="expandedTargetDir"/>: the
    /// feature they read (the final-norm hidden state) is the small one zero-padded, so each ResBlock's W [h, h] and b go
    /// to the top-left of zero [H, H] and [H] (SiLU(0) = 0 keeps the padding zero) and each LM head's columns to the front
    /// of [V, H]: drafts equal the small heads'.
    /// </summary>
    public static void ExpandMedusa(string smallHeadDir, string expandedTargetDir, string outDir, IProgress<(int Done, int Total)>? progress = null)
    {
        var target = ModelConfig.Load(expandedTargetDir);
        var expansion = ReadExpansion(expandedTargetDir);
        int h = expansion.SourceHiddenSize, H = target.HiddenSize, vocab = target.VocabSize;
        var small = target with { HiddenSize = h };
        using var heads = Speculative.MedusaHeads.Load(smallHeadDir, small);
        string file = File.Exists(Path.Combine(smallHeadDir, "medusa_lm_head.safetensors"))
            ? Path.Combine(smallHeadDir, "medusa_lm_head.safetensors") : Path.Combine(smallHeadDir, "medusa_lm_head.pt");
        using var s = Speculative.EagleTensors.OpenFile(file);
        var cols = Segments.Prefix(h);
        var tensors = new List<TensorBlob>();
        for (int k = 0; k < heads.Count; k++)
        {
            for (int j = 0; j < heads.Layers; j++)
            {
                int stored = s.Contains($"{k}.{j}.linear.weight") ? j : 0;
                tensors.Add(Matrix(s, $"{k}.{stored}.linear.weight", h, h, H, H, Identity, cols) with { Name = $"{k}.{j}.linear.weight" });
                tensors.Add(Vector(s, $"{k}.{stored}.linear.bias", h, H, Identity) with { Name = $"{k}.{j}.linear.bias" });
            }
            if (heads.HeadWeights[k] != null) tensors.Add(Matrix(s, $"{k}.{heads.Layers}.weight", vocab, h, vocab, H, Identity, cols));
        }
        Directory.CreateDirectory(outDir);
        var config = new JsonObject
        {
            ["medusa_num_heads"] = heads.Count,
            ["medusa_num_layers"] = heads.Layers,
            ["base_model_name_or_path"] = Path.GetFullPath(expandedTargetDir),
            ["hidden_size"] = H,
            ["vocab_size"] = vocab,
            [ConfigKey] = new JsonObject
            {
                ["shape"] = expansion.Shape,
                ["source"] = Path.GetFileName(Path.GetFullPath(smallHeadDir).TrimEnd('/')),
                ["source_hidden_size"] = h,
                ["note"] = "cost model: Medusa heads of the real shape whose drafts equal the source heads' (docs/expansion.md)",
            },
        };
        File.WriteAllText(Path.Combine(outDir, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Write(Path.Combine(outDir, "medusa_lm_head.safetensors"), tensors, progress);
    }

    /// <summary>What an expanded model's config.json says about its source (null when it is not an expansion).</summary>
    public static Expansion? TryReadExpansion(string modelDir)
    {
        string file = Path.Combine(modelDir, "config.json");
        if (!File.Exists(file)) return null;
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(file))?[ConfigKey];
            if (node is not JsonObject o) return null;
            return new Expansion((string?)o["shape"] ?? "", (string?)o["source"] ?? "", (int?)o["source_hidden_size"] ?? 0);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new FrSpecException($"{file}: field '{ConfigKey}' is malformed ({e.Message})");
        }
    }

    private static Expansion ReadExpansion(string dir) =>
        TryReadExpansion(dir) ?? throw new FrSpecException($"{dir}/config.json: not an expanded model (no '{ConfigKey}'); expand the target with `frspec synth --expand` first");

    /// <summary>An expanded model's provenance.</summary>
    public sealed record Expansion(string Shape, string Source, int SourceHiddenSize);

    // ---- placement ----------------------------------------------------------------------------------------------

    private static readonly Func<int, int> Identity = i => i;

    /// <summary>A run of columns copied from the small matrix to the big one.</summary>
    private readonly record struct Segment(int Source, int Destination, int Length);

    private static class Segments
    {
        public static Segment[] Prefix(int n) => [new(0, 0, n)];
    }

    /// <summary>Where the small model's heads go: query head i → big head (i / g)·G + i mod g, so it keeps its KV head.</summary>
    private sealed record HeadPlan(int BigHeads, int BigKvHeads, Func<int, int> QueryRow, Segment[] QueryColumns)
    {
        public static HeadPlan For(int hidden, int heads, int kvHeads, int headDim, int bigHidden, int queryWidth, int kvWidth, string source, string shape)
        {
            if (hidden > bigHidden)
                throw new FrSpecException($"{source}: hidden_size {hidden} is wider than {shape}'s {bigHidden}");
            if (queryWidth % headDim != 0 || kvWidth % headDim != 0)
                throw new FrSpecException($"{source}: head_dim {headDim} does not divide {shape}'s query/KV widths {queryWidth}/{kvWidth}");
            int bigHeads = queryWidth / headDim, bigKv = kvWidth / headDim;
            int g = heads / kvHeads, bigGroup = bigHeads / bigKv;
            if (bigHeads % bigKv != 0 || bigKv < kvHeads || bigGroup < g)
                throw new FrSpecException($"{source}: {heads} query / {kvHeads} KV heads of {headDim} do not fit {shape}'s {bigHeads} / {bigKv}");
            int Map(int head) => head / g * bigGroup + head % g;
            var columns = new Segment[heads];
            for (int i = 0; i < heads; i++) columns[i] = new Segment(i * headDim, Map(i) * headDim, headDim);
            return new HeadPlan(bigHeads, bigKv, row => Map(row / headDim) * headDim + row % headDim, columns);
        }
    }

    /// <summary>
    /// The small [rows, cols] matrix placed into a zero [bigRows, bigCols] one of the same dtype: small row r goes to
    /// row <paramref name="rowMap"/>(r), and each column segment to its destination. Bytes are copied, never converted.
    /// </summary>
    private static TensorBlob Matrix(ITensorSource s, string name, int rows, int cols, int bigRows, int bigCols, Func<int, int> rowMap, Segment[] columns)
    {
        var probe = s.Matrix(name, rows, cols);
        var type = probe.Type;
        return new TensorBlob(name, TensorBlob.SafetensorsName(type), [bigRows, bigCols], () =>
        {
            var m = s.Matrix(name, rows, cols);
            int es = DTypeInfo.SizeOf(type);
            var big = new byte[(long)bigRows * bigCols * es];
            unsafe
            {
                byte* src = (byte*)m.Data;
                fixed (byte* dst = big)
                    for (int r = 0; r < rows; r++)
                    {
                        long dr = rowMap(r);
                        foreach (var seg in columns)
                            Buffer.MemoryCopy(src + ((long)r * cols + seg.Source) * es, dst + (dr * bigCols + seg.Destination) * es, (long)seg.Length * es, (long)seg.Length * es);
                    }
            }
            return big;
        });
    }

    /// <summary>A 1-D tensor (bias) placed by <paramref name="map"/> into a zero vector, written in f32 (exact for any source dtype).</summary>
    private static TensorBlob Vector(ITensorSource s, string name, int length, int bigLength, Func<int, int> map) =>
        new(name, "F32", [bigLength], () =>
        {
            var v = s.Vector(name, length);
            var big = new float[bigLength];
            for (int i = 0; i < length; i++) big[map(i)] = v[i];
            return Numerics.Convert.ToBytes(big, DType.F32);
        });

    /// <summary>A norm weight times √(h/H) in f32, zero beyond h (see the class comment).</summary>
    private static TensorBlob ScaledNorm(ITensorSource s, string name, int length, int bigLength, float scale) =>
        new(name, "F32", [bigLength], () =>
        {
            var v = s.Vector(name, length);
            var big = new float[bigLength];
            for (int i = 0; i < length; i++) big[i] = v[i] * scale;
            return Numerics.Convert.ToBytes(big, DType.F32);
        });

    private static TensorBlob Zeros(string name, DType type, params long[] shape) =>
        new(name, TensorBlob.SafetensorsName(type), shape, () => new byte[shape.Aggregate(1L, (a, b) => a * b) * DTypeInfo.SizeOf(type)]);

    // ---- output ---------------------------------------------------------------------------------------------------

    private static void WriteDirectory(string smallDir, string outDir, JsonObject config, List<TensorBlob> tensors, IProgress<(int, int)>? progress)
    {
        File.WriteAllText(Path.Combine(outDir, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        foreach (var f in new[] { "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })
            if (File.Exists(Path.Combine(smallDir, f))) File.Copy(Path.Combine(smallDir, f), Path.Combine(outDir, f), overwrite: true);
        SafetensorsWriter.WriteModel(outDir, WithProgress(tensors, progress));
    }

    private static void Write(string path, List<TensorBlob> tensors, IProgress<(int, int)>? progress) =>
        SafetensorsWriter.Write(path, WithProgress(tensors, progress), new Dictionary<string, string> { ["format"] = "pt" });

    private static List<TensorBlob> WithProgress(List<TensorBlob> tensors, IProgress<(int, int)>? progress)
    {
        if (progress == null) return tensors;
        int done = 0, total = tensors.Count;
        return tensors.Select(t => t with { Produce = () => { var b = t.Produce(); progress.Report((++done, total)); return b; } }).ToList();
    }
}

using System.Text.Json;
using FrSpec.Formats;

namespace FrSpec.Generation;

/// <summary>
/// A model's generation_config.json: its BOS/EOS ids and the sampling it was published with, validated. Absent file or
/// fields mean transformers' defaults (greedy; when sampling: temperature 1, top-k 50, top-p 1).
/// </summary>
public sealed record GenerationConfig
{
    /// <summary>bos_token_id (first when a list), or null.</summary>
    public int? BosTokenId { get; init; }
    /// <summary>eos_token_id: one id or several.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    /// <summary>The sampling do_sample, temperature, top_k and top_p describe (greedy unless do_sample).</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;
    /// <summary>max_new_tokens, or null.</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>transformers' top_k when sampling and the file does not say.</summary>
    public const int DefaultTopK = 50;

    /// <summary>Reads generation_config.json from a model directory (defaults when there is none); ids must be below <paramref name="vocabSize"/>.</summary>
    public static GenerationConfig Load(string modelDir, int vocabSize)
    {
        string file = Path.Combine(modelDir, "generation_config.json");
        if (!File.Exists(file)) return new GenerationConfig();
        using var doc = JsonFields.ReadObject(file);
        return Parse(doc.RootElement, file, vocabSize);
    }

    public static GenerationConfig Parse(JsonElement root, string file, int vocabSize)
    {
        bool sample = JsonFields.OptBool(root, "do_sample", file) ?? false;
        double temperature = JsonFields.OptDouble(root, "temperature", file) ?? 1.0;
        double topP = JsonFields.OptDouble(root, "top_p", file) ?? 1.0;
        int topK = JsonFields.OptInt(root, "top_k", file) ?? DefaultTopK;
        // Checked when they are used, as transformers checks them: a greedy config may carry leftover sampling values.
        if (sample)
        {
            if (!(temperature > 0) || temperature > 1e6) throw new FrSpecException($"{file}: field 'temperature' must be a positive number when do_sample is true, got {temperature}");
            if (!(topP > 0 && topP <= 1)) throw new FrSpecException($"{file}: field 'top_p' must be in (0, 1] when do_sample is true, got {topP}");
            if (topK < 0) throw new FrSpecException($"{file}: field 'top_k' must be a non-negative integer when do_sample is true, got {topK}");
        }
        int? maxNew = JsonFields.OptInt(root, "max_new_tokens", file);
        if (maxNew is <= 0) throw new FrSpecException($"{file}: field 'max_new_tokens' must be positive, got {maxNew}");
        return new GenerationConfig
        {
            BosTokenId = JsonFields.TokenIds(root, "bos_token_id", file, vocabSize) is [int bos, ..] ? bos : null,
            EosTokenIds = JsonFields.TokenIds(root, "eos_token_id", file, vocabSize),
            Sampling = sample ? new SamplingOptions((float)temperature, topK, (float)topP) : SamplingOptions.Greedy,
            MaxNewTokens = maxNew,
        };
    }
}

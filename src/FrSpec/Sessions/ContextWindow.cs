using FrSpec.Model;

namespace FrSpec.Sessions;

/// <summary>
/// How many tokens one generation may hold: the prompt plus the new tokens must fit the model's positions
/// (max_position_embeddings, and Mistral's sliding window, since FrSpec attends to the whole context) and a KV cache the
/// process can allocate. Checked before any work, so a prompt that is too long ends in one clear error instead of
/// positions the model was never trained on (silently wrong output) or an out-of-memory abort halfway through.
/// </summary>
public static class ContextWindow
{
    /// <summary>The number of positions a generation on this model may use.</summary>
    public static int Limit(ModelConfig config) => Math.Min(config.MaxPositions, config.SlidingWindow ?? int.MaxValue);

    /// <summary>Bytes of KV cache <paramref name="tokens"/> tokens take (keys and values, f32, every layer).</summary>
    public static long KvCacheBytes(ModelConfig config, long tokens) =>
        2L * config.NumLayers * config.NumKvHeads * config.HeadDim * sizeof(float) * tokens;

    /// <summary>
    /// Throws <see cref="FrSpecException"/> when <paramref name="promptTokens"/> + <paramref name="maxNewTokens"/> exceed the
    /// model's positions (<paramref name="origin"/> names the model) or need more KV cache than this process can allocate.
    /// </summary>
    public static void Check(ModelConfig config, string origin, int promptTokens, int maxNewTokens)
    {
        if (promptTokens <= 0) throw new FrSpecException("the prompt is empty");
        if (maxNewTokens < 0) throw new FrSpecException($"max new tokens must be >= 0, got {maxNewTokens}");
        long total = (long)promptTokens + maxNewTokens;
        int limit = Limit(config);
        if (total > limit)
        {
            string what = config.SlidingWindow is int w && w < config.MaxPositions ? $"sliding_window of {w} tokens" : $"context of {config.MaxPositions} positions (max_position_embeddings)";
            throw new FrSpecException(promptTokens >= limit
                ? $"{origin}: the prompt has {promptTokens} tokens, more than the model's {what}; shorten it (the CLI's --truncate keeps its end)"
                : $"{origin}: the prompt's {promptTokens} tokens + {maxNewTokens} new tokens exceed the model's {what}; lower the new-token budget to at most {limit - promptTokens} or shorten the prompt");
        }
        long bytes = KvCacheBytes(config, total), available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available / 2)
            throw new FrSpecException($"{origin}: {total} tokens need {bytes / (double)(1 << 30):0.0} GiB of KV cache, more than half of the {available / (double)(1 << 30):0.0} GiB this process may use; shorten the prompt or the new-token budget");
    }

    /// <summary>
    /// The prompt cut to leave room for <paramref name="maxNewTokens"/>: its first token when it is <paramref name="bos"/>
    /// (the model expects it at position 0), then as many of its last tokens as fit. Returns the prompt itself when it fits.
    /// </summary>
    public static int[] Truncate(int[] prompt, int maxNewTokens, ModelConfig config, int? bos)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        int room = Limit(config) - Math.Max(0, maxNewTokens);
        if (prompt.Length <= room) return prompt;
        bool keepBos = bos is int b && prompt.Length > 0 && prompt[0] == b;
        int keep = room - (keepBos ? 1 : 0);
        if (keep <= 0)
            throw new FrSpecException($"{maxNewTokens} new tokens leave no room for a prompt in the model's {Limit(config)} positions");
        var result = new int[keep + (keepBos ? 1 : 0)];
        if (keepBos) result[0] = prompt[0];
        Array.Copy(prompt, prompt.Length - keep, result, keepBos ? 1 : 0, keep);
        return result;
    }
}

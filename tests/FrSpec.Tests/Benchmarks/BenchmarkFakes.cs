using System.Text;
using FrSpec.Generation;
using FrSpec.Text;

namespace FrSpec.Tests.Benchmarks;

/// <summary>A tokenizer where id = UTF-16 code unit; ids 1..3 are special tokens (BOS, end of turn, EOS).</summary>
sealed class FakeTokenizer : ITokenizer
{
    public const int Bos = 1, EndOfTurn = 2, Eos = 3;
    static readonly Dictionary<int, string> Specials = new() { [Bos] = "<s>", [EndOfTurn] = "<|eot_id|>", [Eos] = "</s>" };

    public int VocabSize => 65536;

    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        var ids = new List<int>();
        if (addSpecialTokens) ids.Add(Bos);
        for (int i = 0; i < text.Length; i++)
        {
            var special = Specials.FirstOrDefault(kv => string.CompareOrdinal(text, i, kv.Value, 0, kv.Value.Length) == 0);
            if (special.Value is not null) { ids.Add(special.Key); i += special.Value.Length - 1; }
            else ids.Add(text[i]);
        }
        return ids.ToArray();
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            if (Specials.TryGetValue(id, out var s)) { if (!skipSpecialTokens) sb.Append(s); }
            else sb.Append((char)id);
        }
        return sb.ToString();
    }

    public byte[] DecodeToBytes(ReadOnlySpan<int> ids, bool skipSpecialTokens = false) => Encoding.UTF8.GetBytes(Decode(ids, skipSpecialTokens));
    public int? TokenToId(string token) => Specials.FirstOrDefault(kv => kv.Value == token).Value is null ? (token.Length == 1 ? token[0] : null) : Specials.First(kv => kv.Value == token).Key;
    public string? IdToToken(int id) => Specials.TryGetValue(id, out var s) ? s : id is >= 0 and < 65536 ? ((char)id).ToString() : null;
    public bool IsSpecial(int id) => Specials.ContainsKey(id);
}

/// <summary>Renders a conversation as "[role] content\n" lines and "[assistant]" for the generation prompt.</summary>
static class FakeTemplate
{
    public static string Render(IReadOnlyList<ChatMessage> messages)
    {
        var sb = new StringBuilder("<s>");
        foreach (var m in messages) sb.Append('[').Append(m.Role).Append("] ").Append(m.Content).Append("<|eot_id|>\n");
        return sb.Append("[assistant] ").ToString();
    }
}

/// <summary>
/// A decoder whose answer is a pure function of the prompt: "Answer N: ..." where N is the prompt length, cut to
/// the budget, ending in the end-of-turn id. Accept lengths split the ids into chunks of <see cref="ChunkSize"/>.
/// A nonzero <see cref="CorruptAt"/> changes the id at that position (to test the equivalence check).
/// </summary>
sealed class FakeDecoder : IDecoder
{
    public string Name { get; }
    public int ChunkSize { get; init; } = 1;
    public int? CorruptAt { get; init; }
    public string? AnswerText { get; init; }
    public TimeSplit Split { get; init; } = new();
    public List<string> Prompts { get; } = new();
    public List<GenerationOptions> Options { get; } = new();
    readonly List<string>? _calls;
    readonly FakeTokenizer _tok = new();

    public FakeDecoder(string name, List<string>? calls = null) { Name = name; _calls = calls; }

    public GenerationResult Generate(ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken = null, CancellationToken cancel = default)
    {
        var promptText = _tok.Decode(prompt);
        Prompts.Add(promptText);
        Options.Add(options);
        _calls?.Add(Name);
        var text = AnswerText ?? $"Answer {prompt.Length}: the quick brown fox jumps over the lazy dog. The answer is {prompt.Length % 97}.";
        var ids = _tok.Encode(text).Append(FakeTokenizer.EndOfTurn).ToList();
        bool stopped = ids.Count <= options.MaxNewTokens;
        if (!stopped) ids = ids.Take(options.MaxNewTokens).ToList();
        if (CorruptAt is int c && c < ids.Count) ids[c] = 'Z';
        foreach (var id in ids) onToken?.Invoke(id);
        // The prefill emits the first id; each later step emits up to ChunkSize ids.
        var accepts = new List<int>();
        for (int left = ids.Count - 1; left > 0; left -= ChunkSize) accepts.Add(Math.Min(ChunkSize, left));
        return new GenerationResult
        {
            Ids = ids.ToArray(),
            AcceptLengths = accepts.ToArray(),
            PrefillSeconds = 0.001,
            DecodeSeconds = 0.01,
            Time = Split,
            StoppedByStopId = stopped,
        };
    }
}

/// <summary>Finds files of the repository (data/benchmarks) from the test binaries.</summary>
static class RepoFiles
{
    public static string Root => FrSpec.Cli.BenchmarkDataLocator.FindRepositoryRoot() ?? throw new InvalidOperationException("repository root not found");
    public static string Data(string file) => Path.Combine(Root, "data", "benchmarks", file);
}

/// <summary>A temporary folder deleted at dispose.</summary>
sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("frspec-bench-test-").FullName;
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace FrSpec.Cli.Support;

/// <summary>
/// The allowed range of every numeric CLI option, declared once by option name (the same name means the same thing in
/// every verb) with per-verb exceptions, and attached as parse-time validators to the whole command tree. An out-of-range
/// value, NaN or ±∞ is refused before any work starts, with a one-line error naming the option. A test checks that every
/// numeric option of every verb has a range here, so a new option cannot skip the check.
/// </summary>
internal static class OptionRanges
{
    /// <summary>Inclusive bounds, except <see cref="MinExclusive"/>; every value must also be finite.</summary>
    internal sealed record Range(double Min, double Max, bool MinExclusive = false)
    {
        public string? Check(double v)
        {
            if (!double.IsFinite(v)) return "must be a finite number";
            bool tooLow = MinExclusive ? v <= Min : v < Min;
            if (!tooLow && v <= Max) return null;
            return MinExclusive ? $"must be in ({F(Min)}, {F(Max)}]" : $"must be between {F(Min)} and {F(Max)}";
        }

        private static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
    }

    private static Range AtLeast(double min, double max = double.MaxValue) => new(min, max);

    /// <summary>Bounds of a count that sizes memory or time (steps, tokens, repetitions): positive and not absurd.</summary>
    private static readonly Range Count = AtLeast(1, 1 << 24);

    private static readonly Dictionary<string, Range> ByName = new()
    {
        ["--max-tokens"] = AtLeast(1, 1L << 40),          // generate/bench spec/demo: new tokens; freq: tokens to count
        ["--temperature"] = AtLeast(0, 1e6),
        ["--top-p"] = new Range(0, 1, MinExclusive: true),
        ["--top-k"] = AtLeast(0, int.MaxValue),
        ["--top"] = AtLeast(1, 1 << 20),
        ["--tree-depth"] = AtLeast(0, 32),                 // the bounds of TreeOptions.Validate
        ["--tree-topk"] = AtLeast(1, 64),
        ["--tree-tokens"] = AtLeast(1, 1024),
        ["--grid-depth"] = AtLeast(0, 32),                 // bench spec --grid: fixed trees, the same bounds
        ["--grid-topk"] = AtLeast(1, 64),
        ["--grid-tokens"] = AtLeast(1, 1024),
        ["--fr-size"] = AtLeast(1, 1 << 24),
        ["--fr-sizes"] = AtLeast(1, 1 << 24),
        ["--limit"] = AtLeast(1, int.MaxValue),
        ["--warmup"] = AtLeast(0, 1 << 20),
        ["--exec-timeout"] = new Range(0, 86400, MinExclusive: true),
        ["--threads"] = AtLeast(1, 1024),
        ["--repeat"] = Count,
        ["--reps"] = Count,
        ["--rounds"] = Count,
        ["--tokens"] = Count,
        ["--decode-tokens"] = Count,
        ["--prompt-tokens"] = AtLeast(1, 1 << 20),
        ["--rows"] = AtLeast(1, 1024),
        ["--acts"] = AtLeast(1, 16),                      // bench int8-tile: activation rows per tile
        ["--matrix-rows"] = AtLeast(16, 1 << 16),
        ["--matrix-cols"] = AtLeast(256, 1 << 16),
        ["--context"] = AtLeast(1, 1 << 22),
        ["--mib"] = AtLeast(1, 1 << 20),
        ["--m"] = AtLeast(1, 1 << 16),
        ["--k"] = AtLeast(1, 1 << 16),
        ["--n"] = AtLeast(1, 1 << 20),
        ["--quiet-wait"] = AtLeast(0, 3600),
        ["--max-docs"] = AtLeast(1, long.MaxValue),
        ["--max-mb"] = new Range(0, 1 << 20, MinExclusive: true),
        ["--js-mb"] = new Range(0, 1 << 20, MinExclusive: true),
        ["--seed"] = AtLeast(0, ulong.MaxValue),
        ["--cases"] = AtLeast(1, 1 << 30),
        ["--case"] = AtLeast(0, int.MaxValue),
        ["--case-timeout"] = new Range(0, 3600, MinExclusive: true),
        ["--max-heap-mib"] = AtLeast(64, 1 << 20),
        ["--port"] = AtLeast(0, 65535),                   // serve: 0 = any free port
        ["--slots"] = AtLeast(1, 4096),                   // serve: generations at once (each holds a KV cache)
        ["--queue"] = AtLeast(0, 1 << 20),                // serve: waiting requests (0 = none wait)
        ["--drain-seconds"] = AtLeast(0, 3600),
        ["--clients"] = AtLeast(1, 4096),                 // bench serve: concurrent clients per level
        ["--seconds"] = new Range(0, 86400, MinExclusive: true),
        ["--cancel-every"] = AtLeast(0, int.MaxValue),    // bench serve: 0 = no client disconnects
        ["--prefill"] = AtLeast(0, 1 << 22),              // bench components: prompt tokens (0 = skip)
        ["--check-tokens"] = AtLeast(1, 1 << 20),         // bench peer: positions compared between the engines
        ["--draft-max"] = AtLeast(1, 33),                 // draft model: tokens per chain (DraftModelMethod.Chain)
        ["--draft-min"] = AtLeast(0, 1024),               // draft model: shorter drafts are not verified (0 = any)
        ["--draft-p-min"] = AtLeast(0, 1),                // draft model: probability cut-off
        ["--medusa-nodes"] = AtLeast(1, 1024),            // Medusa: first N paths of the tree
        ["--lookup-ngram"] = AtLeast(1, 64),              // prompt lookup (PromptLookupOptions.Validate)
        ["--lookup-min-ngram"] = AtLeast(1, 64),
        ["--lookup-tokens"] = AtLeast(1, 256),
        ["--heads"] = AtLeast(1, 16),                     // synth-medusa: heads (MedusaHeads.MaxHeads)
        ["--layers"] = AtLeast(1, 8),                     // synth-medusa: ResBlocks per head
        ["--draft-vocab"] = AtLeast(1, 1 << 24),          // synth-eagle --format eagle3: draft vocabulary size
    };

    /// <summary>Where one verb gives a shared name another meaning ("bench tokenizer --threads 0" = all cores).</summary>
    private static readonly Dictionary<string, Range> ByCommand = new()
    {
        ["bench tokenizer --threads"] = AtLeast(0, 1024),
        ["bench bf16-tile --acts"] = AtLeast(1, 12),      // panel kernels hold up to 12 activation rows
        ["bench bf16-tile --matrix-rows"] = AtLeast(32, 1 << 16),
        ["bench bf16-tile --matrix-cols"] = AtLeast(2, 1 << 16),
    };

    /// <summary>The range of <paramref name="option"/> in the verb <paramref name="commandPath"/> ("bench spec"), or null.</summary>
    public static Range? Find(string commandPath, string option) =>
        ByCommand.TryGetValue($"{commandPath} {option}", out var r) ? r : ByName.GetValueOrDefault(option);

    /// <summary>True for options whose values are numbers (also nullable and arrays of numbers).</summary>
    public static bool IsNumeric(Option option)
    {
        var t = option.ValueType;
        t = t.IsArray ? t.GetElementType()! : Nullable.GetUnderlyingType(t) ?? t;
        return t == typeof(int) || t == typeof(long) || t == typeof(float) || t == typeof(double) || t == typeof(uint) || t == typeof(ulong) || t == typeof(short);
    }

    /// <summary>Attaches the range validator to every numeric option of <paramref name="command"/> and its subcommands.</summary>
    public static void Apply(Command command, string path = "")
    {
        foreach (var option in command.Options)
        {
            if (!IsNumeric(option)) continue;
            var range = Find(path, option.Name);
            string name = option.Name;
            option.Validators.Add(result => Validate(result, name, range));
        }
        foreach (var sub in command.Subcommands) Apply(sub, path.Length == 0 ? sub.Name : $"{path} {sub.Name}");
    }

    private static void Validate(OptionResult result, string name, Range? range)
    {
        object? value;
        try { value = result.GetValueOrDefault<object?>(); }
        catch (Exception) { return; }   // a conversion error is reported by the parser itself
        IEnumerable<double> values = value switch
        {
            null => [],
            int i => [i], long l => [l], float f => [f], double d => [d], uint u => [u], ulong u => [u], short s => [s],
            int[] a => a.Select(x => (double)x),
            long[] a => a.Select(x => (double)x),
            float[] a => a.Select(x => (double)x),
            double[] a => a,
            _ => [],
        };
        foreach (double v in values)
        {
            string? problem = range is null ? (double.IsFinite(v) ? null : "must be a finite number") : range.Check(v);
            if (problem is null) continue;
            result.AddError($"{name} {problem}, got {v.ToString(CultureInfo.InvariantCulture)}");
            return;
        }
    }
}

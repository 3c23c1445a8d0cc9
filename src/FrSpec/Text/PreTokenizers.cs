using System.Text.Json;

namespace FrSpec.Text;

/// <summary>A piece of pre-tokenized text: a slice of <see cref="Source"/>.</summary>
internal readonly record struct TextPiece(string Source, int Start, int Length)
{
    public ReadOnlySpan<char> Span => Source.AsSpan(Start, Length);
}

/// <summary>
/// A tokenizer.json "pre_tokenizer" step: cuts pieces into smaller pieces. The ByteLevel step only records that pieces
/// must be mapped to GPT-2 byte characters; the model does that mapping on the fly, without allocating strings.
/// </summary>
internal abstract class PreTokenizerStep
{
    /// <summary>Cuts every piece of <paramref name="pieces"/>, writing the result to <paramref name="output"/>.</summary>
    public abstract void Apply(List<TextPiece> pieces, List<TextPiece> output, bool sectionStartsText);

    /// <summary>Builds the steps of a tokenizer.json node; sets <paramref name="byteLevel"/> when a ByteLevel step is present.</summary>
    public static List<PreTokenizerStep> FromJson(JsonElement node, string file, ref bool byteLevel)
    {
        var steps = new List<PreTokenizerStep>();
        Add(node, file, steps, ref byteLevel);
        return steps;
    }

    private static void Add(JsonElement node, string file, List<PreTokenizerStep> steps, ref bool byteLevel)
    {
        if (node.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return;
        var type = Json.Str(node, "type", file, "pre_tokenizer");
        switch (type)
        {
            case "Sequence":
                foreach (var n in Json.Array(node, "pretokenizers", file, "pre_tokenizer.Sequence")) Add(n, file, steps, ref byteLevel);
                break;
            case "Split":
            {
                var (pattern, isRegex) = Json.Pattern(node, file, "pre_tokenizer.Split");
                string origin = $"{file}: pre_tokenizer.Split";
                var splitter = isRegex ? PatternSplitter.ForRegex(pattern, origin) : PatternSplitter.ForString(pattern, origin);
                var behavior = Json.OptStr(node, "behavior") ?? "Isolated";
                steps.Add(new SplitStep(splitter, ParseBehavior(behavior, file), Json.Bool(node, "invert", false)));
                break;
            }
            case "ByteLevel":
                byteLevel = true;
                if (Json.Bool(node, "add_prefix_space", false)) steps.Add(new PrefixSpaceStep());
                if (Json.Bool(node, "use_regex", true)) steps.Add(new SplitStep(new Gpt2Splitter(), Behavior.Isolated, false));
                break;
            case "Metaspace":
            {
                var replacement = Json.OptStr(node, "replacement") ?? "\u2581";
                if (replacement.Length == 0) throw new FrSpecException($"{file}: pre_tokenizer.Metaspace.replacement is empty");
                var scheme = Json.OptStr(node, "prepend_scheme") ?? (Json.Bool(node, "add_prefix_space", true) ? "always" : "never");
                steps.Add(new MetaspaceStep(replacement, scheme, Json.Bool(node, "split", true)));
                break;
            }
            case "Digits":
                steps.Add(new SplitStep(new DigitSplitter(Json.Bool(node, "individual_digits", false)), Behavior.Isolated, false));
                break;
            case "WhitespaceSplit":
                steps.Add(new SplitStep(PatternSplitter.ForRegex(@"\s+"), Behavior.Removed, false));
                break;
            default:
                throw new FrSpecException($"{file}: pre_tokenizer type '{type}' is not supported (supported: Sequence, Split, ByteLevel, Metaspace, Digits, WhitespaceSplit)");
        }
    }

    internal enum Behavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous }

    private static Behavior ParseBehavior(string s, string file) => s switch
    {
        "Isolated" => Behavior.Isolated,
        "Removed" => Behavior.Removed,
        "MergedWithPrevious" => Behavior.MergedWithPrevious,
        "MergedWithNext" => Behavior.MergedWithNext,
        "Contiguous" => Behavior.Contiguous,
        _ => throw new FrSpecException($"{file}: pre_tokenizer.Split.behavior '{s}' is unknown"),
    };

    /// <summary>Split: pattern matches are delimiters (or, with invert, the kept parts), handled by <see cref="Behavior"/>.</summary>
    private sealed class SplitStep(PatternSplitter splitter, Behavior behavior, bool invert) : PreTokenizerStep
    {
        [ThreadStatic] private static List<(int Start, int Length)>? t_matches;

        public override void Apply(List<TextPiece> pieces, List<TextPiece> output, bool sectionStartsText)
        {
            var matches = t_matches ??= new List<(int, int)>();
            foreach (var piece in pieces)
            {
                matches.Clear();
                splitter.Matches(piece.Span, matches);
                if (behavior == Behavior.Isolated && !invert)
                {
                    // Fast path: matches and the gaps between them, each a piece.
                    int pos = 0;
                    foreach (var (s, l) in matches)
                    {
                        if (s > pos) output.Add(piece with { Start = piece.Start + pos, Length = s - pos });
                        output.Add(piece with { Start = piece.Start + s, Length = l });
                        pos = s + l;
                    }
                    if (pos < piece.Length) output.Add(piece with { Start = piece.Start + pos, Length = piece.Length - pos });
                    continue;
                }
                // General case: segments covering the piece, flagged as delimiter or not.
                var segments = new List<(int S, int L, bool Delim)>();
                int p = 0;
                foreach (var (s, l) in matches)
                {
                    if (s > p) segments.Add((p, s - p, invert));
                    segments.Add((s, l, !invert));
                    p = s + l;
                }
                if (p < piece.Length) segments.Add((p, piece.Length - p, invert));
                var cut = new List<(int S, int L)>();
                switch (behavior)
                {
                    case Behavior.Isolated:
                        foreach (var g in segments) cut.Add((g.S, g.L));
                        break;
                    case Behavior.Removed:
                        foreach (var g in segments) if (!g.Delim) cut.Add((g.S, g.L));
                        break;
                    case Behavior.MergedWithPrevious:
                        foreach (var g in segments)
                            if (g.Delim && cut.Count > 0 && !segments[0].Equals(g)) cut[^1] = (cut[^1].S, cut[^1].L + g.L);
                            else cut.Add((g.S, g.L));
                        break;
                    case Behavior.MergedWithNext:
                    {
                        int pending = -1;
                        foreach (var g in segments)
                        {
                            if (g.Delim) { if (pending < 0) pending = g.S; else { cut.Add((pending, g.S - pending)); pending = g.S; } }
                            else { int st = pending >= 0 ? pending : g.S; cut.Add((st, g.S + g.L - st)); pending = -1; }
                        }
                        if (pending >= 0) cut.Add((pending, piece.Length - pending));
                        break;
                    }
                    case Behavior.Contiguous:
                        bool lastDelim = false;
                        foreach (var g in segments)
                        {
                            if (g.Delim && lastDelim && cut.Count > 0) cut[^1] = (cut[^1].S, cut[^1].L + g.L);
                            else cut.Add((g.S, g.L));
                            lastDelim = g.Delim;
                        }
                        break;
                }
                foreach (var (s, l) in cut)
                    if (l > 0) output.Add(piece with { Start = piece.Start + s, Length = l });
            }
        }
    }

    /// <summary>ByteLevel's add_prefix_space: a space before every piece that does not start with one.</summary>
    private sealed class PrefixSpaceStep : PreTokenizerStep
    {
        public override void Apply(List<TextPiece> pieces, List<TextPiece> output, bool sectionStartsText)
        {
            foreach (var p in pieces)
            {
                if (p.Length > 0 && p.Source[p.Start] == ' ') output.Add(p);
                else { var s = " " + p.Span.ToString(); output.Add(new TextPiece(s, 0, s.Length)); }
            }
        }
    }

    /// <summary>Metaspace: spaces become the replacement (▁), a ▁ is prepended, and pieces start at each ▁.</summary>
    private sealed class MetaspaceStep(string replacement, string scheme, bool split) : PreTokenizerStep
    {
        public override void Apply(List<TextPiece> pieces, List<TextPiece> output, bool sectionStartsText)
        {
            for (int k = 0; k < pieces.Count; k++)
            {
                var text = pieces[k].Span.ToString().Replace(" ", replacement, StringComparison.Ordinal);
                bool prepend = scheme switch
                {
                    "always" => true,
                    "first" => sectionStartsText && k == 0 && pieces[k].Start == 0,
                    _ => false,
                };
                if (prepend && !text.StartsWith(replacement, StringComparison.Ordinal)) text = replacement + text;
                if (!split) { output.Add(new TextPiece(text, 0, text.Length)); continue; }
                int start = 0;
                while (start < text.Length)
                {
                    int next = text.IndexOf(replacement, start + (text.AsSpan(start).StartsWith(replacement) ? replacement.Length : 0), StringComparison.Ordinal);
                    if (next < 0) next = text.Length;
                    output.Add(new TextPiece(text, start, next - start));
                    start = next;
                }
            }
        }
    }

    /// <summary>Digits pre-tokenizer: each digit (or each run of digits) isolated.</summary>
    private sealed class DigitSplitter(bool individual) : PatternSplitter
    {
        public override void Matches(ReadOnlySpan<char> s, List<(int Start, int Length)> into)
        {
            int i = 0;
            while (i < s.Length)
            {
                if (UnicodeClass.At(s, i, out int len) != UnicodeClass.Number) { i += len; continue; }
                int j = i + len;
                if (!individual) j = RunEnd(s, i, UnicodeClass.Number);
                into.Add((i, j - i));
                i = j;
            }
        }
    }
}

using System.Text;
using System.Text.Json;

namespace FrSpec.Text;

/// <summary>
/// A piece of decoder output: text, or raw bytes produced by ByteLevel / ByteFallback. Raw pieces are kept as bytes
/// so that <see cref="ITokenizer.DecodeToBytes"/> can return exactly what the tokens stand for.
/// </summary>
internal struct DecodePiece
{
    public string? Text;
    public byte[]? Raw;
    public bool IsAdded;   // an added token, passed through ByteLevel unchanged
    public static DecodePiece OfText(string s, bool added = false) => new() { Text = s, IsAdded = added };
    public static DecodePiece OfRaw(byte[] b) => new() { Raw = b };
    public readonly byte[] Bytes => Raw ?? Encoding.UTF8.GetBytes(Text!);
}

/// <summary>
/// A tokenizer.json "decoder" step (HF tokenizers semantics). In text mode raw bytes become text the way HF does
/// (lossy UTF-8; ByteFallback turns an invalid byte run into one U+FFFD per byte); in raw mode they stay bytes.
/// </summary>
internal abstract class DecoderStep
{
    /// <param name="pieces">the pieces, rewritten in place</param>
    /// <param name="raw">keep bytes raw instead of converting them to text</param>
    /// <param name="continuation">the tokens follow earlier text: skip start-of-text handling (leading-space strips)</param>
    public abstract void Apply(List<DecodePiece> pieces, bool raw, bool continuation);

    public static List<DecoderStep> FromJson(JsonElement node, string file)
    {
        var steps = new List<DecoderStep>();
        Add(node, file, steps);
        return steps;
    }

    private static void Add(JsonElement node, string file, List<DecoderStep> steps)
    {
        if (node.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return;
        var type = Json.Str(node, "type", file, "decoder");
        switch (type)
        {
            case "Sequence":
                foreach (var n in Json.Array(node, "decoders", file, "decoder.Sequence")) Add(n, file, steps);
                break;
            case "ByteLevel": steps.Add(new ByteLevelStep()); break;
            case "ByteFallback": steps.Add(new ByteFallbackStep()); break;
            case "Fuse": steps.Add(new FuseStep()); break;
            case "Replace":
                var (pattern, isRegex) = Json.Pattern(node, file, "decoder.Replace");
                if (isRegex) throw new FrSpecException($"{file}: decoder.Replace with a Regex pattern is not supported");
                if (pattern.Length == 0) throw new FrSpecException($"{file}: decoder.Replace.pattern is empty");
                steps.Add(new ReplaceStep(pattern, Json.Str(node, "content", file, "decoder.Replace")));
                break;
            case "Strip":
                var content = Json.Str(node, "content", file, "decoder.Strip");
                steps.Add(new StripStep(content, Json.Int(node, "start", 0), Json.Int(node, "stop", 0)));
                break;
            case "Metaspace":
                var replacement = Json.OptStr(node, "replacement") ?? "\u2581";
                if (replacement.Length == 0) throw new FrSpecException($"{file}: decoder.Metaspace.replacement is empty");
                var scheme = Json.OptStr(node, "prepend_scheme") ?? (Json.Bool(node, "add_prefix_space", true) ? "always" : "never");
                steps.Add(new MetaspaceStep(replacement, scheme != "never"));
                break;
            default:
                throw new FrSpecException($"{file}: decoder type '{type}' is not supported (supported: Sequence, ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace)");
        }
    }

    private sealed class ByteLevelStep : DecoderStep
    {
        public override void Apply(List<DecodePiece> pieces, bool raw, bool continuation)
        {
            // Non-added tokens map character by character to bytes; added tokens keep their text (as transformers does).
            var bytes = new List<byte>();
            foreach (var p in pieces)
            {
                if (p.Raw is not null || p.IsAdded) { bytes.AddRange(p.Bytes); continue; }
                var t = p.Text!;
                bool mapped = true;
                foreach (var c in t) if (ByteLevelMap.ByteOf(c) < 0) { mapped = false; break; }
                if (!mapped) { bytes.AddRange(Encoding.UTF8.GetBytes(t)); continue; }
                foreach (var c in t) bytes.Add((byte)ByteLevelMap.ByteOf(c));
            }
            pieces.Clear();
            var arr = bytes.ToArray();
            pieces.Add(raw ? DecodePiece.OfRaw(arr) : DecodePiece.OfText(Encoding.UTF8.GetString(arr)));
        }
    }

    private sealed class ByteFallbackStep : DecoderStep
    {
        public override void Apply(List<DecodePiece> pieces, bool raw, bool continuation)
        {
            var output = new List<DecodePiece>(pieces.Count);
            var run = new List<byte>();
            void FlushRun()
            {
                if (run.Count == 0) return;
                var arr = run.ToArray();
                run.Clear();
                if (raw) { output.Add(DecodePiece.OfRaw(arr)); return; }
                // HF tokenizers: valid UTF-8 becomes its text, otherwise one U+FFFD per byte.
                try { output.Add(DecodePiece.OfText(new UTF8Encoding(false, true).GetString(arr))); }
                catch (DecoderFallbackException) { output.Add(DecodePiece.OfText(new string('\uFFFD', arr.Length))); }
            }
            foreach (var p in pieces)
            {
                var t = p.Text;
                if (t is { Length: 6 } && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>'
                    && byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte b))
                {
                    run.Add(b);
                    continue;
                }
                FlushRun();
                output.Add(p);
            }
            FlushRun();
            pieces.Clear();
            pieces.AddRange(output);
        }
    }

    private sealed class FuseStep : DecoderStep
    {
        public override void Apply(List<DecodePiece> pieces, bool raw, bool continuation)
        {
            if (pieces.Count <= 1) return;
            DecodePiece fused;
            if (pieces.Any(p => p.Raw is not null))
            {
                var bytes = new List<byte>();
                foreach (var p in pieces) bytes.AddRange(p.Bytes);
                fused = DecodePiece.OfRaw(bytes.ToArray());
            }
            else fused = DecodePiece.OfText(string.Concat(pieces.Select(p => p.Text)));
            pieces.Clear();
            pieces.Add(fused);
        }
    }

    private sealed class ReplaceStep(string pattern, string content) : DecoderStep
    {
        public override void Apply(List<DecodePiece> pieces, bool raw, bool continuation)
        {
            for (int i = 0; i < pieces.Count; i++)
                if (pieces[i].Text is { } t)
                    pieces[i] = pieces[i] with { Text = t.Replace(pattern, content, StringComparison.Ordinal) };
        }
    }

    private sealed class StripStep(string content, int startCount, int stop) : DecoderStep
    {
        public override void Apply(List<DecodePiece> pieces, bool raw, bool continuation)
        {
            if (content.Length != 1) return;
            char c = content[0];
            int start = continuation ? 0 : startCount;
            for (int i = 0; i < pieces.Count; i++)
            {
                var p = pieces[i];
                if (p.Text is { } t)
                {
                    int s = 0, e = t.Length;
                    while (s < start && s < e && t[s] == c) s++;
                    while (t.Length - e < stop && e > s && t[e - 1] == c) e--;
                    pieces[i] = p with { Text = t[s..e] };
                }
                else if (p.Raw is { } r && c < 0x80)
                {
                    int s = 0, e = r.Length;
                    while (s < start && s < e && r[s] == c) s++;
                    while (r.Length - e < stop && e > s && r[e - 1] == c) e--;
                    pieces[i] = DecodePiece.OfRaw(r[s..e]);
                }
            }
        }
    }

    private sealed class MetaspaceStep(string replacement, bool stripFirst) : DecoderStep
    {
        public override void Apply(List<DecodePiece> pieces, bool raw, bool continuation)
        {
            for (int i = 0; i < pieces.Count; i++)
            {
                if (pieces[i].Text is not { } t) continue;
                // HF: in the first token every replacement character is dropped (when a prefix space was added).
                t = t.Replace(replacement, i == 0 && stripFirst && !continuation ? "" : " ", StringComparison.Ordinal);
                pieces[i] = pieces[i] with { Text = t };
            }
        }
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FrSpec.Generation;

namespace FrSpec.Benchmarks;

/// <summary>
/// A Spec-Bench answer file (jsonl, one answer per line), appended one question at a time and flushed, so an
/// interrupted run loses at most the question in progress and a rerun skips what is already there.
/// </summary>
public sealed class AnswerFile
{
    public string Path { get; }
    readonly Dictionary<string, AnswerRecord> _answers = new();

    AnswerFile(string path) { Path = path; }

    /// <summary>Answers already in the file, by question id (a later line for the same id wins).</summary>
    public IReadOnlyDictionary<string, AnswerRecord> Answers => _answers;

    public bool Contains(string questionId) => _answers.ContainsKey(questionId);

    /// <summary>
    /// Opens (or creates) an answer file for appending. A last line cut off by an interrupted run (no trailing
    /// newline, not valid JSON) is dropped; any other bad line is an error naming the file and line.
    /// </summary>
    public static AnswerFile OpenForAppend(string path)
    {
        var file = new AnswerFile(path);
        if (!File.Exists(path)) return file;
        DropTruncatedTail(path);
        foreach (var a in ReadAll(path)) file._answers[a.QuestionId] = a;
        return file;
    }

    /// <summary>Reads every answer of a file; errors name the file, line and field.</summary>
    public static List<AnswerRecord> ReadAll(string path)
    {
        if (!File.Exists(path)) throw new FrSpecException($"answer file not found: {path}");
        var list = new List<AnswerRecord>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            list.Add(Parse(line, $"{path}:{lineNo}"));
        }
        return list;
    }

    /// <summary>Appends one answer as a line and flushes it.</summary>
    public void Append(AnswerRecord answer)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var line = Serialize(answer);
        using (var fs = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read))
        {
            fs.Write(line);
            fs.WriteByte((byte)'\n');
            fs.Flush(flushToDisk: true);
        }
        _answers[answer.QuestionId] = answer;
    }

    static void DropTruncatedTail(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0 || bytes[^1] == (byte)'\n') return;
        int lastNewline = Array.LastIndexOf(bytes, (byte)'\n');
        var tail = Encoding.UTF8.GetString(bytes, lastNewline + 1, bytes.Length - lastNewline - 1);
        bool tailIsJson;
        try { using var _ = JsonDocument.Parse(tail); tailIsJson = true; }
        catch (JsonException) { tailIsJson = false; }
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
        if (tailIsJson)
        {
            // A complete record that only lacks its newline: keep it.
            fs.Seek(0, SeekOrigin.End);
            fs.WriteByte((byte)'\n');
        }
        else fs.SetLength(lastNewline + 1);
    }

    /// <summary>A 22-character random id like Spec-Bench's shortuuid answer ids.</summary>
    public static string NewAnswerId()
    {
        const string alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        Span<char> chars = stackalloc char[22];
        for (int i = 0; i < chars.Length; i++) chars[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        return new string(chars);
    }

    internal static byte[] Serialize(AnswerRecord a)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            if (a.NumericQuestionId is long n) w.WriteNumber("question_id", n);
            else w.WriteString("question_id", a.QuestionId);
            w.WriteString("category", a.Category);
            w.WriteString("answer_id", a.AnswerId);
            w.WriteString("model_id", a.ModelId);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartArray("turns");
            foreach (var t in a.Turns) w.WriteStringValue(t.Text);
            w.WriteEndArray();
            WriteNumbers(w, "decoding_steps", a.Turns.Select(t => (double)t.AcceptLengths.Length));
            WriteNumbers(w, "new_tokens", a.Turns.Select(t => (double)t.TokenIds.Length));
            WriteNumbers(w, "wall_time", a.Turns.Select(t => t.WallTime));
            // Spec-Bench keeps one flat list over all turns (its speed script extends and averages it).
            WriteNumbers(w, "accept_lengths", a.Turns.SelectMany(t => t.AcceptLengths).Select(x => (double)x));
            // Extra fields, ignored by Spec-Bench's scripts.
            w.WriteStartArray("accept_lengths_per_turn");
            foreach (var t in a.Turns) WriteNumbers(w, null, t.AcceptLengths.Select(x => (double)x));
            w.WriteEndArray();
            w.WriteStartArray("token_ids");
            foreach (var t in a.Turns) WriteNumbers(w, null, t.TokenIds.Select(x => (double)x));
            w.WriteEndArray();
            WriteNumbers(w, "prefill_time", a.Turns.Select(t => t.PrefillSeconds));
            WriteNumbers(w, "decode_time", a.Turns.Select(t => t.DecodeSeconds));
            w.WriteStartArray("time_split");
            foreach (var t in a.Turns)
            {
                w.WriteStartObject();
                w.WriteNumber("draft_layers", t.Time.DraftLayers);
                w.WriteNumber("draft_lm_head", t.Time.DraftLmHead);
                w.WriteNumber("verify", t.Time.Verify);
                w.WriteNumber("other", t.Time.Other);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("stopped");
            foreach (var t in a.Turns) w.WriteBooleanValue(t.StoppedByStopId);
            w.WriteEndArray();
            if (a.Turns.Any(t => t.Tree != null))
            {
                w.WriteStartArray("tree");
                foreach (var t in a.Turns)
                    if (t.Tree is { } plan) TreePlanJson.Write(w, plan); else w.WriteNullValue();
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteNumber("tstamp", a.Tstamp);
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    static void WriteNumbers(Utf8JsonWriter w, string? name, IEnumerable<double> values)
    {
        if (name is null) w.WriteStartArray(); else w.WriteStartArray(name);
        foreach (var v in values)
        {
            if (v == Math.Floor(v) && Math.Abs(v) < 1e15) w.WriteNumberValue((long)v);
            else w.WriteNumberValue(v);
        }
        w.WriteEndArray();
    }

    internal static AnswerRecord Parse(string line, string where)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FrSpecException($"{where}: expected a JSON object");
            var idEl = Get(root, "question_id", where);
            string id; long? numeric = null;
            if (idEl.ValueKind == JsonValueKind.Number && idEl.TryGetInt64(out long n)) { numeric = n; id = n.ToString(CultureInfo.InvariantCulture); }
            else if (idEl.ValueKind == JsonValueKind.String) id = idEl.GetString()!;
            else throw new FrSpecException($"{where}: field question_id must be an integer or a string");

            var choices = Get(root, "choices", where);
            if (choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
                throw new FrSpecException($"{where}: field choices must be a non-empty array");
            var c = choices[0];
            var texts = Get(c, "turns", where).EnumerateArray().Select(e => e.GetString() ?? "").ToList();
            int turns = texts.Count;
            var newTokens = Numbers(c, "new_tokens", where, turns);
            var wall = Numbers(c, "wall_time", where, turns);
            var steps = Numbers(c, "decoding_steps", where, turns);
            var prefill = OptionalNumbers(c, "prefill_time", turns);
            var decode = OptionalNumbers(c, "decode_time", turns);
            var perTurnAccept = OptionalNested(c, "accept_lengths_per_turn", turns);
            var tokenIds = OptionalNested(c, "token_ids", turns);
            int[] flatAccept = c.TryGetProperty("accept_lengths", out var fa) && fa.ValueKind == JsonValueKind.Array
                ? fa.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Select(e => (int)e.GetDouble()).ToArray()
                : Array.Empty<int>();
            var splits = new TimeSplit[turns];
            var stopped = new bool[turns];
            for (int i = 0; i < turns; i++) splits[i] = new TimeSplit();
            if (c.TryGetProperty("time_split", out var ts) && ts.ValueKind == JsonValueKind.Array && ts.GetArrayLength() == turns)
                for (int i = 0; i < turns; i++)
                {
                    var s = ts[i];
                    splits[i] = new TimeSplit
                    {
                        DraftLayers = OptionalDouble(s, "draft_layers"),
                        DraftLmHead = OptionalDouble(s, "draft_lm_head"),
                        Verify = OptionalDouble(s, "verify"),
                        Other = OptionalDouble(s, "other"),
                    };
                }
            if (c.TryGetProperty("stopped", out var st) && st.ValueKind == JsonValueKind.Array && st.GetArrayLength() == turns)
                for (int i = 0; i < turns; i++) stopped[i] = st[i].ValueKind == JsonValueKind.True;
            var trees = new FrSpec.Generation.TreePlan?[turns];
            if (c.TryGetProperty("tree", out var tr) && tr.ValueKind == JsonValueKind.Array && tr.GetArrayLength() == turns)
                for (int i = 0; i < turns; i++) trees[i] = TreePlanJson.Read(tr[i]);

            var results = new List<TurnResult>(turns);
            int flatPos = 0;
            for (int i = 0; i < turns; i++)
            {
                int[] accept;
                if (perTurnAccept is not null) accept = perTurnAccept[i];
                else
                {
                    // Plain Spec-Bench file: split the flat list by each turn's decoding_steps.
                    int k = (int)Math.Min(Math.Max(0, steps[i]), flatAccept.Length - flatPos);
                    accept = flatAccept.AsSpan(flatPos, k).ToArray();
                    flatPos += k;
                }
                results.Add(new TurnResult
                {
                    Text = texts[i],
                    // Without stored ids only the count is known; equivalence checks need token_ids.
                    TokenIds = tokenIds?[i] ?? new int[Math.Max(0, (int)newTokens[i])],
                    AcceptLengths = accept,
                    WallTime = wall[i],
                    PrefillSeconds = prefill?[i] ?? 0,
                    DecodeSeconds = decode?[i] ?? 0,
                    Time = splits[i],
                    StoppedByStopId = stopped[i],
                    Tree = trees[i],
                });
            }
            return new AnswerRecord
            {
                QuestionId = id,
                NumericQuestionId = numeric,
                Category = root.TryGetProperty("category", out var cat) && cat.ValueKind == JsonValueKind.String ? cat.GetString()! : "",
                AnswerId = root.TryGetProperty("answer_id", out var aid) && aid.ValueKind == JsonValueKind.String ? aid.GetString()! : "",
                ModelId = root.TryGetProperty("model_id", out var mid) && mid.ValueKind == JsonValueKind.String ? mid.GetString()! : "",
                Tstamp = OptionalDouble(root, "tstamp"),
                Turns = results,
                HasTokenIds = tokenIds is not null,
            };
        }
        catch (JsonException e) { throw new FrSpecException($"{where}: not valid JSON ({e.Message})", e); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new FrSpecException($"{where}: a field has the wrong JSON type ({e.Message})", e);
        }
    }

    static JsonElement Get(JsonElement obj, string field, string where)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(field, out var el))
            throw new FrSpecException($"{where}: missing field {field}");
        return el;
    }

    static double[] Numbers(JsonElement obj, string field, string where, int count)
    {
        var el = Get(obj, field, where);
        if (el.ValueKind != JsonValueKind.Array || el.GetArrayLength() != count)
            throw new FrSpecException($"{where}: field {field} must be an array with one number per turn ({count})");
        return el.EnumerateArray().Select(e => e.GetDouble()).ToArray();
    }

    static double[]? OptionalNumbers(JsonElement obj, string field, int count)
    {
        if (!obj.TryGetProperty(field, out var el) || el.ValueKind != JsonValueKind.Array || el.GetArrayLength() != count) return null;
        return el.EnumerateArray().Select(e => e.GetDouble()).ToArray();
    }

    static int[][]? OptionalNested(JsonElement obj, string field, int count)
    {
        if (!obj.TryGetProperty(field, out var el) || el.ValueKind != JsonValueKind.Array || el.GetArrayLength() != count) return null;
        return el.EnumerateArray().Select(inner => inner.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();
    }

    static double OptionalDouble(JsonElement obj, string field) =>
        obj.TryGetProperty(field, out var el) && el.ValueKind == JsonValueKind.Number ? el.GetDouble() : 0;
}

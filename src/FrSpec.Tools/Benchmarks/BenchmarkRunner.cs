using System.Diagnostics;
using System.Text.RegularExpressions;
using FrSpec.Generation;
using FrSpec.Text;

namespace FrSpec.Benchmarks;

/// <summary>A decoder under test with the spec it was built from.</summary>
public sealed record BenchmarkMethod(MethodSpec Spec, IDecoder Decoder)
{
    /// <summary>The answer file stem and report label: the decoder's name, with the tree for a fixed-tree grid point ("fr-8192-d4k8t16").</summary>
    public string Name => Spec.Label(Decoder.Name);

    /// <summary>V' of an FR-Spec method: the number at the end of the decoder's name ("fr-32768", "draft-fr-8192"), else of the file name.</summary>
    public int? VocabSize => Spec.FrequencyFile == null ? null
        : Regex.Match(Decoder.Name, @"(\d+)$") is { Success: true } m && int.TryParse(m.Groups[1].Value, out int v) ? v
        : Spec.VocabSizeFromFileName();
}

/// <summary>What a run did.</summary>
public sealed record BenchmarkRunSummary(int Generated, int Skipped, bool Cancelled);

/// <summary>
/// Runs every method on every question and appends Spec-Bench answer files, one per method. All methods answer a
/// question before the next question starts, so slow drifts of a shared machine hit the methods alike. Questions
/// already answered in a method's file are skipped, so an interrupted run resumes where it stopped.
/// </summary>
public sealed class BenchmarkRunner
{
    readonly ITokenizer _tokenizer;
    readonly Func<IReadOnlyList<ChatMessage>, string> _renderPrompt;
    readonly IReadOnlyCollection<int> _stopIds;

    /// <summary>Tokens generated once per method before the first measured question, so JIT and caches settle (0 = none).</summary>
    public int WarmupTokens { get; init; } = 16;

    /// <summary>Optional system message put before every conversation.</summary>
    public string? SystemPrompt { get; init; }

    /// <param name="tokenizer">Encodes rendered prompts and decodes answers.</param>
    /// <param name="renderPrompt">Renders a conversation ending in a user turn as prompt text with the generation
    /// prompt added (the CLI passes the model's chat template).</param>
    /// <param name="stopIds">Ids that end an answer (EOS, end of turn).</param>
    public BenchmarkRunner(ITokenizer tokenizer, Func<IReadOnlyList<ChatMessage>, string> renderPrompt, IReadOnlyCollection<int> stopIds)
    {
        _tokenizer = tokenizer;
        _renderPrompt = renderPrompt;
        _stopIds = stopIds;
    }

    /// <summary>
    /// Answers <paramref name="questions"/> with every method, appending to OUT/&lt;method&gt;.jsonl, and records the
    /// settings in OUT/run.json. Stops between steps when <paramref name="cancel"/> fires.
    /// </summary>
    public BenchmarkRunSummary Run(QuestionSet questions, IReadOnlyList<BenchmarkMethod> methods, BenchmarkSettings settings,
        string outDir, IBenchmarkProgress? progress = null, CancellationToken cancel = default)
    {
        ValidateMethods(methods);
        var runSettings = (settings with { Methods = methods.Select(m => new MethodEntry(m.Name, m.Spec, m.VocabSize)).ToList() })
            .MergeWithExisting(BenchmarkSettings.TryLoad(outDir), outDir);
        runSettings.Save(outDir);

        var files = methods.Select(m => AnswerFile.OpenForAppend(BenchmarkSettings.AnswerPath(outDir, m.Name))).ToArray();
        progress ??= new PlainBenchmarkProgress(TextWriter.Null);
        int total = questions.Questions.Count * methods.Count;
        int alreadyDone = 0;
        for (int j = 0; j < methods.Count; j++)
            alreadyDone += questions.Questions.Count(q => files[j].Contains(q.Id));
        progress.Start(total);
        if (alreadyDone > 0) progress.Log($"resuming: {alreadyDone} of {total} answers already in {outDir}");

        if (WarmupTokens > 0 && alreadyDone < total && questions.Questions.Count > 0)
        {
            progress.Log($"warm-up: {WarmupTokens} tokens per method (not recorded)");
            var warm = settings with { MaxNewTokens = WarmupTokens };
            for (int j = 0; j < methods.Count; j++)
            {
                if (cancel.IsCancellationRequested) break;
                if (questions.Questions.All(q => files[j].Contains(q.Id))) continue; // nothing left to measure
                Answer(questions.Questions[0], methods[j], warm, new List<ChatMessage>(), firstTurnOnly: true);
            }
        }

        int generated = 0, skipped = 0;
        foreach (var q in questions.Questions)
        {
            for (int j = 0; j < methods.Count; j++)
            {
                if (files[j].Contains(q.Id))
                {
                    skipped++;
                    progress.Advance($"{q.Id} {methods[j].Name}: already answered");
                    continue;
                }
                if (cancel.IsCancellationRequested) return new BenchmarkRunSummary(generated, skipped, true);
                progress.Begin($"{q.Category} {q.Id} · {methods[j].Name}");
                var turns = Answer(q, methods[j], runSettings, new List<ChatMessage>(), firstTurnOnly: false);
                var record = new AnswerRecord
                {
                    QuestionId = q.Id,
                    NumericQuestionId = q.NumericId,
                    Category = q.Category,
                    AnswerId = AnswerFile.NewAnswerId(),
                    ModelId = runSettings.ModelId(methods[j].Name),
                    Tstamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0,
                    Turns = turns,
                };
                files[j].Append(record);
                generated++;
                double tps = record.WallTime > 0 ? record.NewTokens / record.WallTime : 0;
                var accepts = turns.SelectMany(t => t.AcceptLengths).ToArray();
                progress.Advance(FormattableString.Invariant(
                    $"{q.Id} {methods[j].Name}: {record.NewTokens} tokens in {record.WallTime:0.00} s = {tps:0.0} tok/s, accept {(accepts.Length > 0 ? accepts.Average() : 0):0.00}"));
            }
        }
        return new BenchmarkRunSummary(generated, skipped, false);
    }

    /// <summary>Generates each turn in order; turn k's prompt holds the user turns and this method's answers before it.</summary>
    List<TurnResult> Answer(BenchmarkQuestion q, BenchmarkMethod method, BenchmarkSettings settings,
        List<ChatMessage> conversation, bool firstTurnOnly)
    {
        if (SystemPrompt is { Length: > 0 }) conversation.Add(new ChatMessage("system", SystemPrompt));
        var results = new List<TurnResult>();
        int turns = firstTurnOnly ? 1 : q.Turns.Count;
        for (int t = 0; t < turns; t++)
        {
            conversation.Add(new ChatMessage("user", q.Turns[t]));
            var promptText = _renderPrompt(conversation);
            var promptIds = _tokenizer.Encode(promptText, addSpecialTokens: false);
            var options = new GenerationOptions
            {
                MaxNewTokens = settings.MaxNewTokens,
                Sampling = settings.Sampling with { Seed = TurnSeed(settings.Sampling.Seed, q.Id, t) },
                StopIds = _stopIds,
            };
            var sw = Stopwatch.StartNew();
            var r = method.Decoder.Generate(promptIds, options);
            sw.Stop();
            var text = DecodeAnswer(r.Ids);
            results.Add(new TurnResult
            {
                Text = text,
                TokenIds = r.Ids,
                AcceptLengths = r.AcceptLengths,
                WallTime = sw.Elapsed.TotalSeconds,
                PrefillSeconds = r.PrefillSeconds,
                DecodeSeconds = r.DecodeSeconds,
                Time = r.Time,
                StoppedByStopId = r.StoppedByStopId,
                Tree = r.Tree,
            });
            conversation.Add(new ChatMessage("assistant", text));
        }
        return results;
    }

    /// <summary>
    /// The sampling seed of one turn: the same for every method (so sampled runs are comparable), different across
    /// questions and turns, and stable under --limit/--categories (derived from the question id, not its position).
    /// </summary>
    internal static ulong TurnSeed(ulong runSeed, string questionId, int turn)
    {
        ulong h = 14695981039346656037UL; // FNV-1a over the id's UTF-16 code units, then the turn
        foreach (char c in questionId) h = unchecked((h ^ c) * 1099511628211UL);
        h = unchecked((h ^ (ulong)turn) * 1099511628211UL);
        return unchecked(runSeed + h);
    }

    /// <summary>The answer text as Spec-Bench keeps it: cut at the first stop id, special tokens skipped, trimmed.</summary>
    string DecodeAnswer(int[] ids)
    {
        int end = ids.Length;
        for (int i = 0; i < ids.Length; i++)
            if (_stopIds.Contains(ids[i])) { end = i; break; }
        return _tokenizer.Decode(ids.AsSpan(0, end), skipSpecialTokens: true).Trim();
    }

    static void ValidateMethods(IReadOnlyList<BenchmarkMethod> methods)
    {
        if (methods.Count == 0) throw new FrSpecException("no methods to benchmark");
        var seen = new HashSet<string>();
        foreach (var m in methods)
        {
            if (string.IsNullOrWhiteSpace(m.Name) || m.Name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || m.Name.Contains('/') || m.Name.StartsWith('.'))
                throw new FrSpecException($"method name '{m.Name}' cannot be used as an answer file name");
            if (!seen.Add(m.Name))
                throw new FrSpecException($"two methods share the name '{m.Name}'; give each FR-Spec frequency list a different V'");
        }
    }
}

using System.CommandLine;
using System.Text;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Sessions;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec score`: log-probabilities of a token sequence and the top-K alternatives at each position, as JSON —
/// a numerical interface that independent implementations can be checked against.
/// </summary>
public sealed class ScoreCommand : ICliVerb
{
    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory", Required = true };
        var ids = new Option<string>("--ids") { Description = "Comma-separated token ids", Required = true };
        var top = new Option<int>("--top") { Description = "How many top alternatives per position", DefaultValueFactory = _ => 5 };
        var cmd = new Command("score", "Print log-probabilities of each next id and the top-K alternatives as JSON") { model, ids, top };
        cmd.SetAction(pr =>
        {
            int[] tokens = ParseIds(pr.GetValue(ids)!);
            using var m = LanguageModel.Load(pr.GetValue(model)!, Support.CliEngineOptions.FromEnvironment());
            Console.WriteLine(Score(m.Target, tokens, pr.GetValue(top)));
            return 0;
        });
        return cmd;
    }

    public static int[] ParseIds(string s)
    {
        var parts = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out ids[i]) || ids[i] < 0) throw new FrSpecException($"--ids: '{parts[i]}' is not a token id");
        if (ids.Length < 2) throw new FrSpecException("--ids: need at least two ids to score");
        return ids;
    }

    /// <summary>JSON {"positions":[{"next_id", "logprob", "top":[[id, logprob],...]},...]} for positions 0..n-2.</summary>
    public static string Score(Transformer m, int[] tokens, int topK)
    {
        int n = tokens.Length, v = m.Config.VocabSize, hidden = m.Config.HiddenSize;
        ContextWindow.Check(m.Config, m.Directory, n, 0);
        var cache = m.CreateCache(n);
        var h = new float[(long)n * hidden];
        Generation.VanillaDecoder.Prefill(m, m.CreateState(), cache, tokens, h);   // chunked: bounded scratch for long inputs
        var logits = new float[v];
        var logp = new float[v];
        var sb = new StringBuilder("{\"positions\":[");
        for (int i = 0; i < n - 1; i++)
        {
            m.Head.Compute(h.AsSpan(i * hidden, hidden), 1, logits);
            Ops.LogSoftmax(logits, logp);
            var best = Enumerable.Range(0, v).OrderByDescending(j => logp[j]).ThenBy(j => j).Take(Math.Min(topK, v));
            if (i > 0) sb.Append(',');
            sb.Append("{\"next_id\":").Append(tokens[i + 1]).Append(",\"logprob\":").Append(F(logp[tokens[i + 1]])).Append(",\"top\":[");
            sb.Append(string.Join(",", best.Select(j => $"[{j},{F(logp[j])}]")));
            sb.Append("]}");
        }
        return sb.Append("]}").ToString();
    }

    /// <summary>A JSON number: NaN and ±∞ are not JSON, so they are an error (the forward pass reports them first).</summary>
    private static string F(float x) => float.IsFinite(x) ? x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)
        : throw new FrSpecException($"a log-probability is {x}: the model's weights produce non-finite values");
}

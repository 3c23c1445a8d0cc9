using System.Text.Json;

namespace FrSpec.Peer;

/// <summary>The peer benchmark's output: readable lines as it goes, and (with --json) every result as one JSON object.</summary>
internal sealed class PeerReport(TextWriter lines)
{
    private readonly Dictionary<string, object> _fields = new();

    public void Log(string line) => lines.WriteLine(line);

    public void Set(string key, object value) => _fields[key] = value;

    public void WriteJson(TextWriter output) =>
        output.WriteLine(JsonSerializer.Serialize(_fields, new JsonSerializerOptions { WriteIndented = true }));
}

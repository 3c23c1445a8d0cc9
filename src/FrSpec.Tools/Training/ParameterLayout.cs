namespace FrSpec.Training;

/// <summary>
/// What a <see cref="Parameter"/> is saved as (HF tensor name and shape) and whether AdamW decays it: known from a model's
/// config alone, so a saved file can be checked against it before any weights are allocated or read.
/// </summary>
public readonly record struct ParameterLayout(string Name, long[] Shape, bool Decay);

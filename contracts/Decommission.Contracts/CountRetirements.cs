namespace Decommission.Contracts;

/// <summary>Asks how many retirements are in each state: the progress of a fleet retirement at a glance.</summary>
public record CountRetirements;

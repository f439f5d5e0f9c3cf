using System.Text.RegularExpressions;
using Dapper;
using Decommission.Contracts;
using Decommission.Orchestrator.StateMachines;
using Decommission.Testing;
using Microsoft.Data.Sqlite;

namespace Decommission.Orchestrator.Tests;

/// <summary>The state names the CLI, the demo, the inventory and the benchmarks use are the machine's, and the schema agrees.</summary>
public sealed partial class RetirementStatesTests
{
    [Fact]
    public async Task The_machines_states_are_the_contracts_states()
    {
        await using var host = await OrchestratorHost.StartAsync();
        var machine = (RetirementStateMachine)host.Services.GetService(typeof(RetirementStateMachine))!;

        var states = machine.States.Select(s => s.Name).Where(n => n is not "Initial" and not "Final").Order();

        Assert.Equal(RetirementStates.All.Order(), states);
    }

    [Fact]
    public async Task The_one_open_retirement_index_spares_exactly_the_closed_states()
    {
        var path = OrchestratorHost.NewDatabasePath();
        await using (var host = await OrchestratorHost.StartAsync(path)) { }
        await using var connection = new SqliteConnection($"Data Source={path}");
        var sql = await connection.QuerySingleAsync<string>("SELECT sql FROM sqlite_master WHERE name = 'ux_retirements_open_device';");

        var predicate = NotIn().Match(sql);
        Assert.True(predicate.Success, sql);
        var spared = predicate.Groups[1].Value.Split(',').Select(s => s.Trim().Trim('\'')).Order();
        Assert.Equal(RetirementStates.Closed.Order(), spared);
        Assert.Equal(RetirementStates.Closed, RetirementStateMachine.ClosedStates);
    }

    [GeneratedRegex(@"current_state\s+NOT\s+IN\s*\(([^)]*)\)", RegexOptions.IgnoreCase)]
    private static partial Regex NotIn();
}

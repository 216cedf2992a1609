import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '@app/auth';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AppsService, TeamsService } from '@app/domain';
import { CreateTeamAppRequestDto, CreateTeamRequestDto, SetTeamMemberRequestDto, TransferAppRequestDto } from '../dto/team.dto';
import { Developer } from '../http/auth.decorators';
import { toAppResponse } from '../mappers/app.mapper';
import { toTeamMemberResponse, toTeamResponse } from '../mappers/team.mapper';
import { account } from './account.controller';

/** Teams (Platform API "Team", "Team Member", "Team App"): they own apps and receive their bills. */
@ApiTags('teams')
@Controller()
@Developer()
export class TeamsController {
  constructor(
    private readonly teams: TeamsService,
    private readonly apps: AppsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('teams')
  async create(@CurrentPrincipal() principal: Principal, @Body() body: CreateTeamRequestDto) {
    const { team, role } = await this.teams.create(account(principal).id, body.name);
    return toTeamResponse(team, role);
  }

  @Get('teams')
  async list(@CurrentPrincipal() principal: Principal) {
    return (await this.teams.list(account(principal).id)).map(({ team, role }) => toTeamResponse(team, role));
  }

  @Get('teams/:team')
  async get(@CurrentPrincipal() principal: Principal, @Param('team') team: string) {
    const found = await this.teams.get(account(principal).id, team);
    return toTeamResponse(found.team, found.role);
  }

  @Get('teams/:team/members')
  async members(@CurrentPrincipal() principal: Principal, @Param('team') team: string) {
    return (await this.teams.members(account(principal).id, team)).members.map(toTeamMemberResponse);
  }

  @Put('teams/:team/members')
  async setMember(@CurrentPrincipal() principal: Principal, @Param('team') team: string, @Body() body: SetTeamMemberRequestDto) {
    return toTeamMemberResponse(await this.teams.setMember(account(principal).id, team, body));
  }

  @Delete('teams/:team/members/:member')
  @HttpCode(200)
  async removeMember(@CurrentPrincipal() principal: Principal, @Param('team') team: string, @Param('member') member: string) {
    await this.teams.removeMember(account(principal).id, team, member);
    return {};
  }

  @Post('teams/apps')
  async createApp(@CurrentPrincipal() principal: Principal, @Body() body: CreateTeamAppRequestDto) {
    return toAppResponse(await this.apps.create(account(principal).id, body), this.config.http.publicUrl);
  }

  @Get('teams/:team/apps')
  async teamApps(@CurrentPrincipal() principal: Principal, @Param('team') team: string) {
    const views = await this.apps.listForTeam(account(principal).id, team);
    return views.map((view) => toAppResponse(view, this.config.http.publicUrl));
  }

  /** Transfers the app to a team or to your own account (Platform API "Team App Transfer"). */
  @Patch('teams/apps/:app')
  async transfer(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Body() body: TransferAppRequestDto) {
    return toAppResponse(await this.apps.transfer(account(principal).id, app, body.owner), this.config.http.publicUrl);
  }
}

import { IsOptional, IsString } from 'class-validator';
import { CreateAppRequestDto } from './app.dto';

export class CreateTeamRequestDto {
  @IsString() name!: string;
}

export class SetTeamMemberRequestDto {
  /** The member's account email. */
  @IsString() email!: string;
  /** `admin` or `member`. */
  @IsString() role!: string;
}

export class CreateTeamAppRequestDto extends CreateAppRequestDto {
  /** The team's name or id. */
  @IsString() team!: string;
}

export class TransferAppRequestDto {
  /** A team's name or id, or your own account's email or id. */
  @IsString() owner!: string;
  /** Accepted for compatibility with the Platform API; apps never lock here. */
  @IsOptional() @IsString() locked?: string;
}

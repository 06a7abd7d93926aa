/**
 * Remote app versions (eas.json `cli.appVersionSource: "remote"`): the controller keeps each
 * project's build version per platform (Android versionCode, iOS buildNumber); a profile with
 * `autoIncrement` gets the next one when its build is submitted, and the worker writes it into the
 * native project. `buildmesh version get|set` reads and sets it.
 */
import { Type, type Static } from 'typebox';

export const AppVersionPlatform = Type.Union([Type.Literal('android'), Type.Literal('ios')]);

export const AppVersion = Type.Object({
  platform: AppVersionPlatform,
  /** null until the first build or `version set`. */
  buildVersion: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  updatedAt: Type.Union([Type.String(), Type.Null()]),
});
export type AppVersion = Static<typeof AppVersion>;

export const SetAppVersionRequest = Type.Object({ buildVersion: Type.Integer({ minimum: 1, maximum: 2_100_000_000 }) }, { additionalProperties: false });
export type SetAppVersionRequest = Static<typeof SetAppVersionRequest>;
